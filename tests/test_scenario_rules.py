"""Scenario rules as a client sees them: what they match, when they apply, what they answer."""

import json

import pytest

from catalogue_requests import expected_body, request_for
from huawei_signing import signed_headers
from voice_helpers import Receiver, advance, b64, call_verify, freeze_clock, verify_body

pytestmark = pytest.mark.both_stores   # the same behaviour in memory and on Redis

SEND = "/v2/servicerequest/verifycodes/send"
CHECK = "/v2/servicerequest/verifycodes"
NEED_VERIFY = "/v2/servicerequest/verifycodes/need-verify"


def send(client, contact_value="13800000000", extra_headers=None, **fields):
    raw = json.dumps({"contact_value": contact_value, "contact_way": 0, "area_code": "86", **fields}).encode()
    return client.post(SEND, content=raw, headers=signed_headers("POST", SEND, raw, extra=extra_headers))


def use(client, *rules, **document):
    response = client.put("/__otpsim/scenario", json={"name": "test", "rules": list(rules), **document})
    assert response.status_code == 200, response.text


def journal(client):
    return client.get("/__otpsim/journal").json()


def test_a_forced_error_is_the_catalogue_entry_exactly(client):
    use(client, {"name": "down", "match": {"operation": "osm.SendVerifyCodes"}, "error": "OSM.0004"},
        {"name": "gateway", "match": {"operation": "osm.CheckVerifyCodes"}, "error": "APIGW.0308"})
    down = send(client)
    assert down.status_code == 500
    assert down.json() == {"error_code": "OSM.0004", "error_msg": "Internal Server Error"}
    raw = json.dumps({"verify_code": "123456", "contact_value": "1", "contact_way": 0, "area_code": "86"}).encode()
    throttled = client.post(CHECK, content=raw, headers={"content-type": "application/json"})
    assert throttled.status_code == 429
    assert throttled.json() == {"error_code": "APIGW.0308", "error_msg":
                                "The throttling threshold has been reached: policy user over ratelimit,limit:20,time:1 second",
                                "request_id": throttled.headers["x-request-id"]}
    assert [e["rule"] for e in journal(client)] == ["down", "gateway"]


def test_times_and_after_pick_which_matching_requests_the_rule_answers(client):
    use(client, {"name": "third-and-fourth", "match": {"operation": "osm.SendVerifyCodes"},
                 "after": 2, "times": 2, "error": "OSM.0004"})
    statuses = [send(client, contact_value=str(n)).status_code for n in range(6)]
    assert statuses == [200, 200, 500, 500, 200, 200]
    assert [e["rule"] for e in journal(client)] == [None, None, "third-and-fourth", "third-and-fourth", None, None]


def test_first_match_wins_and_a_retired_rule_lets_the_next_one_answer(client):
    use(client,
        {"name": "once", "match": {"product": "osm"}, "times": 1, "error": "OSM.0003"},
        {"name": "always", "match": {"product": "osm"}, "error": "OSM.0004"})
    assert [send(client).status_code for _ in range(3)] == [403, 500, 500]
    assert [e["rule"] for e in journal(client)] == ["once", "always", "always"]


@pytest.mark.parametrize("matcher, hits, misses", [
    ("13800000001", ["13800000001"], ["13800000002", "x13800000001"]),
    ({"regex": "^1380000000[12]$"}, ["13800000001", "13800000002"], ["13800000003"]),
    (["a@example.com", {"regex": "@test\\.example$"}], ["a@example.com", "b@test.example"], ["b@example.com"]),
])
def test_body_fields_match_exactly_by_regex_or_one_of_a_list(client, matcher, hits, misses):
    use(client, {"name": "hit", "match": {"operation": "osm.SendVerifyCodes", "body": {"contact_value": matcher}},
                 "error": "OSM.0003"})
    for contact in hits:
        assert send(client, contact).status_code == 403, contact
    for contact in misses:
        assert send(client, contact).status_code == 200, contact


def test_numbers_match_whatever_their_wire_form(client):
    use(client, {"name": "email-way", "match": {"product": "osm", "body": {"contact_way": 1}, "query": {}},
                 "error": "OSM.0003"},
        {"name": "query-way", "match": {"operation": "osm.CheckNeedVerify", "query": {"contact_way": 1}},
         "error": "OSM.0002"})
    assert send(client, "a@example.com", contact_way=1).status_code == 403
    assert send(client, "13800000000", contact_way=0).status_code == 200
    query = "contact_value=a%40example.com&contact_way=1&area_code=86"
    assert client.get(f"{NEED_VERIFY}?{query}").status_code == 401


def test_headers_match_in_any_case_and_nested_body_fields_by_dotted_path(client):
    use(client, {"name": "nested", "match": {"product": "osm", "headers": {"x-test-case": "nested"},
                                             "body": {"extra.items.1.id": 7}}, "error": "OSM.0003"})
    hit = send(client, extra_headers={"X-Test-Case": "nested"}, extra={"items": [{"id": 1}, {"id": 7}]})
    assert hit.status_code == 403
    assert send(client, extra_headers={"X-Test-Case": "other"}, extra={"items": [{"id": 1}, {"id": 7}]}).status_code != 403
    assert send(client, extra_headers={"X-Test-Case": "nested"}, extra={"items": [{"id": 7}]}).status_code != 403


def test_respond_sends_a_raw_answer(client):
    use(client, {"name": "proxy-page", "match": {"product": "osm"},
                 "respond": {"status": 502, "headers": {"Content-Type": "text/html", "Retry-After": 3,
                                                        "Content-Length": 999},
                             "body": "<html>Bad Gateway</html>"}})
    response = send(client)
    assert (response.status_code, response.text) == (502, "<html>Bad Gateway</html>")
    assert response.headers["content-type"] == "text/html" and response.headers["retry-after"] == "3"
    assert response.headers.get_list("content-length") == [str(len("<html>Bad Gateway</html>"))]


def test_a_delay_rule_slows_the_answer_and_the_journal_records_the_drawn_delay(client):
    use(client, {"name": "slow", "match": {"product": "osm"}, "delay": {"uniform": [20, 40]}})
    assert send(client).status_code == 200
    entry = journal(client)[0]
    assert entry["rule"] == "slow" and 20 <= entry["delay_ms"] <= 40
    assert entry["duration_ms"] >= entry["delay_ms"]


def test_probability_answers_some_matching_requests(client):
    use(client, {"name": "coin", "match": {"product": "osm"}, "probability": 0.5, "error": "OSM.0004"})
    statuses = [send(client, contact_value=str(n)).status_code for n in range(40)]
    assert 5 < statuses.count(500) < 35
    assert set(statuses) == {200, 500}


def test_per_request_headers_force_an_error_or_a_delay(client):
    forced = send(client, extra_headers={"X-Otpsim-Error": "OSM.01010024"})
    assert forced.json() == {"error_code": "OSM.01010024", "error_msg": "Verify code resend too frequently."}
    assert send(client, "13800000009", extra_headers={"X-Otpsim-Delay-Ms": "30"}).status_code == 200
    assert journal(client)[1]["delay_ms"] == 30
    unknown = send(client, extra_headers={"X-Otpsim-Error": "NOPE.1"})
    assert unknown.status_code == 400 and "not in the osm catalogue" in unknown.json()["otpsim"]


def test_deliver_false_answers_as_usual_but_the_message_never_arrives(client):
    use(client, {"name": "lost", "match": {"operation": "osm.SendVerifyCodes"}, "deliver": False})
    assert send(client, "13800000005").status_code == 200
    assert client.get("/__otpsim/outbox").json() == []


def test_connection_faults_in_process_answer_a_clear_otpsim_error(client):
    use(client, {"name": "reset", "match": {"product": "osm"}, "fault": "connection_reset"})
    response = send(client)
    assert response.status_code == 501
    assert response.headers["x-otpsim-fault"] == "connection_reset"
    assert "needs a real connection" in response.json()["otpsim"]
    assert client.get("/__otpsim/outbox").json() == []


@pytest.mark.parametrize("operation, match, code", [
    ("osm.SendVerifyCodes", {"body": {"contact_value": "13500000002"}}, "OSM.01010024"),
    ("osm.SendVerifyCodes", {"body": {"contact_value": "+8613500000002"}}, "OSM.01010024"),
    ("oneaccess.SendSmsVerifyCode", {"body": {"mobile": "13500000002"}}, "SMS.0001"),
    ("cams.GetMigrationVerifyCode", {"query": {"PhoneNumber": "8613500000002"}}, "VerifyCode.TooFrequent"),
    ("voice.CallVerify", {"body": {"calleeNbr": "+8613500000002"}}, "1013117"),
])
def test_default_magic_phone_is_always_throttled(sim, client, operation, match, code):
    product_name = operation.split(".")[0]
    product = sim.products[product_name]
    target = next(op for op in product.operations if op.qualified == operation)
    response = client.request(**request_for(target, match))
    entry = product.catalogue[code]
    assert response.status_code == entry.status
    request_id = journal(client)[-1]["request_id"]
    assert response.json() == expected_body(product, entry, request_id, "127.0.0.1:8080")


def test_default_magic_email_is_accepted_but_never_receives_its_code(client):
    assert send(client, "undeliverable@example.com", contact_way=1).status_code == 200
    assert client.get("/__otpsim/outbox").json() == []
    assert send(client, "deliverable@example.com", contact_way=1).status_code == 200
    assert [m["to"] for m in client.get("/__otpsim/outbox").json()] == ["deliverable@example.com"]


@pytest.mark.parametrize("callee, state_code", [
    ("+8613500000001", 8102), ("+8613500000003", 8101), ("+8613500000004", 8004),
    ("+8613500000005", 8104), ("8613500000006", 8100), ("+8613800000001", 0),
])
def test_default_magic_callees_end_their_calls_as_documented(client, callee, state_code):
    with Receiver() as receiver:
        freeze_clock(client)
        body = verify_body(callee, statusUrl=b64(f"{receiver.url}/status"))
        assert call_verify(client, body).json()["resultcode"] == "0"
        advance(client, 60)
        assert receiver.bodies("/status")[-1]["statusInfo"]["stateCode"] == state_code


def test_reset_starts_the_rules_counting_again(client):
    use(client, {"name": "once", "match": {"product": "osm"}, "times": 1, "error": "OSM.0004"})
    assert [send(client, str(n)).status_code for n in range(2)] == [500, 200]
    client.post("/__otpsim/reset")
    assert [send(client, str(n)).status_code for n in range(2)] == [500, 200]


def test_first_match_wins_between_exact_value_rules_and_others(client):
    use(client,
        {"name": "by-regex", "match": {"product": "osm", "body": {"contact_value": {"regex": "^139"}}}, "error": "OSM.0003"},
        {"name": "exact", "match": {"product": "osm", "body": {"contact_value": ["13900000000", "13700000000"]}},
         "error": "OSM.0004"},
        {"name": "any-osm", "match": {"product": "osm"}, "error": "OSM.0002"})
    assert send(client, "13900000000").status_code == 403      # the regex rule comes first
    assert send(client, "13700000000").status_code == 500      # only the exact list matches
    assert send(client, "13600000000").status_code == 401      # neither: the catch-all
    assert [e["rule"] for e in journal(client)] == ["by-regex", "exact", "any-osm"]
