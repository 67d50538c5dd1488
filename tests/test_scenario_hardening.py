"""Issue 15: no scenario text freezes otpsim, breaks it or gets half applied; each is refused at
load with a clear problem and the previous scenario stays."""

import json

import httpx
import pytest

from simulator.embedded import ThreadServer as LiveServer
from hardening import assert_still_serving, send_code, state_before

# 9 values, each level nine aliases of the one before: 9^9 values once expanded, 324 bytes
ALIAS_BOMB = "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
    f"{level}: &{level} [{','.join(['*' + before] * 9)}]\n" for before, level in zip("abcdefgh", "bcdefghi"))


def put(client, text: str):
    return client.put("/__otpsim/scenario", content=text.encode())


def refused_with(client, text: str, problem: str):
    answer = put(client, text)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"].startswith("scenario refused"), answer.json()
    assert any(problem in line for line in answer.json()["problems"]), answer.json()["problems"]
    assert client.get("/__otpsim/scenario").json()["name"] == "kept"


@pytest.fixture
def served(sim):
    """A real server, a scenario in force and a code sent: what an attack must not lose."""
    with LiveServer(sim) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        host = f"127.0.0.1:{server.port}"
        assert put(client, "name: kept\n").status_code == 200
        code = state_before(client, host)
        yield client, code, host


def test_a_yaml_alias_bomb_is_refused_before_it_is_expanded(served):
    client, code, host = served
    refused_with(client, ALIAS_BOMB, "more than 100000 values once aliases are expanded")
    assert_still_serving(client, code, host)


def test_an_alias_bomb_in_respond_body_is_refused(served):
    client, code, host = served
    body = "".join(f"        {line}\n" for line in ALIAS_BOMB.splitlines())
    rule = f"rules:\n  - match: {{operation: osm.SendVerifyCodes}}\n    respond:\n      status: 200\n      body:\n{body}"
    refused_with(client, rule, "values once aliases are expanded")
    assert_still_serving(client, code, host)


def test_more_rules_than_the_limit_are_refused(served):
    client, code, host = served
    rules = [{"match": {"operation": "osm.SendVerifyCodes", "body": {"contact_value": str(n)}}, "delay_ms": 1}
             for n in range(1001)]
    refused_with(client, json.dumps({"name": "big", "rules": rules}), "at most 1000 rules in a scenario")
    assert_still_serving(client, code, host)


def test_a_scenario_beyond_the_body_limit_is_a_413(served):
    client, code, host = served
    answer = client.put("/__otpsim/scenario", content=b"rules: []\n" + b"# padding\n" * 500_000)
    assert answer.status_code == 413
    assert client.get("/__otpsim/scenario").json()["name"] == "kept"
    assert_still_serving(client, code, host)


def test_deeply_nested_yaml_is_refused(served):
    client, code, host = served
    refused_with(client, "description: " + "[" * 100_000, "nested deeper than 64 levels")
    assert_still_serving(client, code, host)


def test_a_catastrophic_regex_runs_in_linear_time(served):
    client, code, host = served
    rule = {"name": "redos", "match": {"operation": "osm.SendVerifyCodes",
                                       "body": {"contact_value": {"regex": "^(a+)+$"}}}, "error": "OSM.0004"}
    assert put(client, json.dumps({"name": "redos", "rules": [rule]})).status_code == 200
    for value in ("a" * 30 + "!", "a" * 500_000 + "!"):
        answer = send_code(client, value, host)      # the 10 s client timeout is the freeze check
        assert answer.status_code == 200, answer.text    # the rule did not match: answered as usual
    assert send_code(client, "a" * 30, host).json()["error_code"] == "OSM.0004"
    assert client.get("/__otpsim/outbox/latest", params={"to": "13800000015"}).json()["code"] == code


@pytest.mark.parametrize("rule, problem", [
    ("{match: {product: osm}, delay_ms: .nan}", "nan is not a finite number"),
    ("{match: {product: osm}, delay_ms: .inf}", "inf is not a finite number"),
    ("{match: {product: osm}, probability: .nan}", "nan is not a finite number"),
    ("{match: {product: osm}, delay: {uniform: [0, .inf]}}", "inf is not a finite number"),
    ("{match: {product: voice}, call: {events: [{event: callout, after_s: .nan}]}}", "nan is not a finite number"),
    ("{match: {product: osm}, respond: {status: 200, body: {x: .nan}}}", "nan is not a finite number"),
    ("{match: {product: osm}, times: 2.0}", "2.0 is not of type 'integer'"),
    ("{match: {product: osm}, respond: {status: 101}}", "an HTTP status from 200 to 599"),
    ('{match: {product: osm}, respond: {status: 200, headers: {X-A: "a\\r\\nSet-Cookie: x=1"}}}',
     "no CR, LF or other control character"),
    ('{match: {product: osm}, respond: {status: 200, headers: {"X A": "1"}}}', "a header name is a token"),
    ('{match: {product: osm, body: {contact_value: {regex: "' + "(" * 2000 + "a" + ")" * 2000 + '"}}}}',
     "a regex has 1 to 1000 characters"),
    ('{match: {product: osm, body: {contact_value: {regex: "(?P<x>a)(?P=x)"}}}}', "is not a 'regex' RE2 accepts"),
])
def test_an_unusable_value_is_refused_at_load(served, rule, problem):
    client, code, host = served
    refused_with(client, f"name: bad\nrules:\n  - {rule}\n", problem)
    assert_still_serving(client, code, host)


def test_a_seed_of_5000_digits_is_refused(served):
    client, code, host = served
    refused_with(client, "name: seeded\nseed: " + "9" * 5000 + "\n", "a number too long to read")
    refused_with(client, "name: seeded\nseed: " + "9" * 30 + "\n", "integer out of range")
    assert_still_serving(client, code, host)


def test_a_large_repetition_count_is_a_regex_re2_serves(served):
    client, code, host = served
    rule = {"match": {"operation": "osm.SendVerifyCodes", "body": {"contact_value": {"regex": "a{4294967296}"}}},
            "error": "OSM.0004"}
    assert put(client, json.dumps({"name": "repeat", "rules": [rule]})).status_code == 200
    assert_still_serving(client, code, host)


@pytest.mark.parametrize("delay", ["soon", "nan", "-5", "1e300"])
def test_a_bad_delay_header_is_a_clear_400(served, delay):
    client, code, host = served
    import huawei_signing
    raw = json.dumps({"contact_value": "13800000018", "contact_way": 0, "area_code": "86"}).encode()
    headers = huawei_signing.signed_headers("POST", "/v2/servicerequest/verifycodes/send", raw, host=host,
                                            extra={"X-Otpsim-Delay-Ms": delay})
    answer = client.post("/v2/servicerequest/verifycodes/send", content=raw, headers=headers)
    assert answer.status_code == 400
    assert answer.json() == {"otpsim": f"X-Otpsim-Delay-Ms must be a number of milliseconds from 0 to 300000, not {delay!r}"}
    assert_still_serving(client, code, host)


def test_a_yaml_date_stays_the_text_it_was_written_as(served):
    client, code, host = served
    scenario = ("name: dated\nrules:\n  - match: {operation: osm.SendVerifyCodes, body: {contact_value: 2024-01-01}}\n"
                "    respond:\n      status: 200\n      body: {when: 2024-01-01}\n")
    assert put(client, scenario).status_code == 200
    rule = client.get("/__otpsim/scenario").json()["rules"][0]
    assert rule["match"]["body"] == {"contact_value": "2024-01-01"} and rule["respond"]["body"] == {"when": "2024-01-01"}
    assert_still_serving(client, code, host)


@pytest.mark.parametrize("value", ["!!binary aGVsbG8=", "!!set {a, b}", "!!omap [a: 1]", "!!pairs [a: 1]"])
def test_a_yaml_tag_of_no_json_type_is_refused(served, value):
    client, code, host = served
    rule = f"name: tagged\nrules:\n  - match: {{operation: osm.SendVerifyCodes}}\n    respond: {{status: 200, body: {value}}}\n"
    refused_with(client, rule, f"{value.split()[0]} is not JSON data")
    assert_still_serving(client, code, host)


@pytest.mark.parametrize("where, key", [("match: {operation: osm.SendVerifyCodes, body: {%s: x}}", "1"),
                                        ("match: {operation: osm.SendVerifyCodes}\n    respond: {status: 200, body: {%s: x}}", "null"),
                                        ("match: {operation: osm.SendVerifyCodes}\n    respond: {status: 200, body: {%s: x}}", "true")],
                         ids=["match-body-1", "respond-body-null", "respond-body-true"])
def test_a_key_that_is_not_text_is_refused(served, where, key):
    client, code, host = served
    refused_with(client, f"name: keyed\nrules:\n  - {where % key}\n", f"the key {key!r} is not text")
    assert_still_serving(client, code, host)


@pytest.mark.parametrize("text", ['name: "\\ud800"\n', 'name: kept\nrules: [{match: {operation: osm.SendVerifyCodes}, '
                                                       'respond: {status: 200, body: {a: "\\ude00\\ud83d"}}}]\n'],
                         ids=["name", "respond-body"])
def test_an_escaped_lone_surrogate_is_refused(served, text):
    client, code, host = served
    refused_with(client, text, "a lone surrogate (an escape \\ud800 to \\udfff without its pair) is no character")
    assert client.get("/__otpsim/health").json()["scenario"] == "kept"
    assert_still_serving(client, code, host)


def test_an_escaped_surrogate_pair_is_its_character_as_in_json(served):
    client, code, host = served
    assert put(client, json.dumps({"name": "smile \U0001F600"})).status_code == 200   # ensure_ascii: \ud83d\ude00
    assert client.get("/__otpsim/scenario").json()["name"] == "smile \U0001F600"
    assert_still_serving(client, code, host)


@pytest.mark.parametrize("escape", ["\\UFFFFFFFF", "\\U00110000"])
def test_an_escape_past_unicode_is_refused(served, escape):
    client, code, host = served
    refused_with(client, f'name: "{escape}"\n', "an escape past \\U0010FFFF, the last Unicode character")
    assert_still_serving(client, code, host)
