"""The scenario file format as an author meets it: `otpsim check`, `otpsim schema`, PUT/GET, merging."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from simulator.core.compose import create_simulator
from simulator.core.serving.cli import main

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

TYPOS = """\
name: typos
seed: 7
products:
  osm: {code_ttl_s: 300, resend_intervl_s: 60}
rules:
  - match: {operation: osm.SendVerifyCode}
    error: OSM.01010024
  - match: {operation: osm.SendVerifyCodes, body: {contact_valu: "13800000000"}}
    tims: 2
    error: OSM.99
  - match: {product: osm}
    fault: {kind: timeout, timeout_s: 900}
    delay: {lognormal: {median: 500, p99: 100}}
"""


def check(capsys, *files):
    code = main(["check", *map(str, files)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err.splitlines()


def test_check_reports_every_problem_with_file_line_and_column(tmp_path, capsys):
    path = tmp_path / "typos.yaml"
    path.write_text(TYPOS)
    code, _, problems = check(capsys, path)
    assert code == 1
    assert problems == [
        f"{path}:4:26: products.osm.resend_intervl_s: unknown key 'resend_intervl_s' (did you mean 'resend_interval_s'?)",
        f"{path}:6:24: rules[0].match.operation: 'osm.SendVerifyCode' is not a known operation "
        "(did you mean 'osm.SendVerifyCodes'?)",
        f"{path}:8:52: rules[1].match.body.contact_valu: 'contact_valu' is not a known body field of "
        "osm.SendVerifyCodes (did you mean 'contact_value'?)",
        f"{path}:9:5: rules[1].tims: unknown key 'tims' (did you mean 'times'?)",
        f"{path}:10:12: rules[1].error: 'OSM.99' is not a known code of the osm catalogue",
        f"{path}:12:39: rules[2].fault.timeout_s: 900 is greater than the maximum of 300",
        f"{path}:13:24: rules[2].delay.lognormal: p99 must not be below the median",
    ]


def test_check_accepts_the_library_and_names_each_file(capsys):
    files = sorted(SCENARIOS.rglob("*.yaml"))
    code, out, problems = check(capsys, *files)
    assert (code, problems) == (0, [])
    assert out.splitlines() == [f"{f}: ok" for f in files]


def test_check_goes_on_after_a_bad_file_and_reports_yaml_syntax_at_its_place(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules:\n  - match: {product: [osm}\n")
    duplicate = tmp_path / "duplicate.yaml"
    duplicate.write_text("name: a\nseed: 1\nname: b\n")
    code, out, problems = check(capsys, broken, SCENARIOS / "default.yaml", duplicate, tmp_path / "missing.yaml")
    assert code == 1
    assert out.splitlines() == [f"{SCENARIOS / 'default.yaml'}: ok"]
    assert problems[0].startswith(f"{broken}:2:26: ")
    assert problems[1] == f"{duplicate}:3:1: name: duplicate key 'name' (first on line 1)"
    assert problems[2] == f"{tmp_path / 'missing.yaml'}: No such file or directory"


@pytest.mark.parametrize("rule, message", [
    ({"match": {"headers": {"X-Case": "a"}}, "error": "OSM.0001"}, "a rule with error must match a product or an operation"),
    ({"match": {}, "delay_ms": 5, "delay": {"fixed": 5}}, "give delay_ms or delay, not both"),
    ({"match": {}, "delay": {"fixed": 5, "uniform": [1, 2]}}, "a delay is exactly one of"),
    ({"match": {"product": "osm"}, "fault": "connection_reset", "error": "OSM.0001"}, "send no answer"),
    ({"match": {}, "fault": {"kind": "slow_body", "timeout_s": 3}}, "timeout_s is an option of timeout only"),
    ({"match": {}, "fault": {"kind": "malformed_body", "handled": True}}, "always handle the request"),
    ({"match": {"headers": {"X-Case": {"regex": "("}}}}, "is not a 'regex'"),
    ({"match": {"product": "osm", "operation": "osm.Nope"}}, "'osm.Nope' is not a known operation"),
    ({"match": {}, "call": {"outcome": "bussy"}}, "'bussy' is not a known call outcome (did you mean 'busy'?)"),
    ({"match": {}, "deliver": True}, "deliver takes only false"),
    ({"match": {"operation": "osm.CheckNeedVerify", "query": {"contactvalue": 1}}},
     "'contactvalue' is not a known query parameter of osm.CheckNeedVerify (did you mean 'contact_value'?)"),
])
def test_each_kind_of_mistake_is_explained(client, rule, message):
    refused = client.put("/__otpsim/scenario", json={"rules": [rule]})
    assert refused.status_code == 400
    assert any(message in problem for problem in refused.json()["problems"]), refused.json()


def test_put_refuses_a_bad_scenario_with_its_lines_and_keeps_the_old_one(client):
    assert client.put("/__otpsim/scenario", content=b"name: first\nseed: 3\n").status_code == 200
    refused = client.put("/__otpsim/scenario", content=TYPOS.encode())
    assert refused.status_code == 400
    assert refused.json()["error"] == "scenario refused; the previous one stays in force"
    assert refused.json()["problems"][0].startswith("request body:4:26: ")
    assert len(refused.json()["problems"]) == 7
    assert client.get("/__otpsim/scenario").json()["name"] == "first"


def test_put_replaces_over_the_default_and_get_returns_what_is_in_force(client):
    document = {"name": "mine", "credentials": {"alibaba": [{"access_key_id": "k", "access_key_secret": "s"}]},
                "products": {"osm": {"resend_interval_s": 5}},
                "rules": [{"name": "mine-first", "match": {"product": "osm"}, "delay_ms": 1}]}
    assert client.put("/__otpsim/scenario", json=document).status_code == 200
    in_force = client.get("/__otpsim/scenario").json()
    assert in_force["name"] == "mine" and "description" not in in_force
    assert in_force["products"]["osm"] == {"resend_interval_s": 5}
    assert in_force["credentials"]["alibaba"][-1] == {"access_key_id": "k", "access_key_secret": "s"}
    assert in_force["credentials"]["huawei_aksk"][0]["ak"] == "SIMTESTAK0000000000"
    assert in_force["rules"][0]["name"] == "mine-first"
    default = yaml.safe_load((SCENARIOS / "default.yaml").read_text())
    assert in_force["rules"][1:] == default["rules"]
    # what GET shows can be PUT back unchanged
    assert client.put("/__otpsim/scenario", json=in_force).status_code == 200
    assert client.get("/__otpsim/scenario").json() == in_force


def test_the_schema_command_prints_the_complete_schema_with_the_products_filled_in():
    printed = subprocess.run([sys.executable, "-m", "simulator.core.serving.cli", "schema"],
                             capture_output=True, text=True, timeout=60, check=True)
    schema = json.loads(printed.stdout)
    assert "osm" in schema["properties"]["products"]["properties"]
    assert schema["properties"]["products"]["properties"]["osm"]["properties"]["code_ttl_s"]["type"] == "integer"
    assert "osm.SendVerifyCodes" in schema["$defs"]["operation-name"]["enum"]


def test_every_yaml_example_in_the_scenario_docs_is_a_valid_scenario(sim):
    docs = (SCENARIOS.parent / "docs" / "scenarios.md").read_text(encoding="utf-8")
    examples = re.findall(r"```yaml\n(.*?)```", docs, re.S)
    assert len(examples) >= 7
    for example in examples:
        sim.scenario_format.load(example, source="docs/scenarios.md")


def test_files_merge_in_order_over_the_default_whose_rules_always_come_last():
    default = SCENARIOS / "default.yaml"
    recipes = [SCENARIOS / "recipes" / "first-two-fail.yaml", SCENARIOS / "recipes" / "throttling.yaml"]
    magic = [rule["name"] for rule in yaml.safe_load(default.read_text())["rules"]]
    for files in (recipes, [default, *recipes]):
        scenario = create_simulator(files).world.scenario
        assert [rule.name for rule in scenario.rules] == ["first-two-sends-fail", "gateway-throttles", *magic]
        assert scenario.name == "throttling" and scenario.product_settings["osm"] == {"resend_interval_s": 120}
        assert scenario.credentials["huawei_aksk"][0]["ak"] == "SIMTESTAK0000000000"
