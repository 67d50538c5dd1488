"""Start-up work kept between runs (core/startup_cache.py): a second start reads the parsed specs,
the generated validators and the verdicts on valid scenarios back, and a cache that is missing,
corrupt, off or unwritable only costs the work again."""

import datetime
import json
import subprocess
import sys

import pytest

from simulator.core import startup_cache
from simulator.core.compose import build_parts
from simulator.core.errors import SimError
from simulator.core.pipeline import validation
from simulator.core.scenario_format import ScenarioError, ScenarioFormat
from simulator.core.startup_cache import cached

VALID = {"contact_value": "13800000000", "contact_way": 0, "area_code": "86"}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(startup_cache.CACHE_ENVIRONMENT, str(tmp_path))
    return tmp_path


def kept(cache, kind: str) -> list:
    return sorted((cache / startup_cache.cache_dir().name / kind).glob("*.marshal"))


def osm_send(parts):
    return next(op for op in parts.products["osm"].operations if op.qualified == "osm.SendVerifyCodes")


def test_a_second_start_reads_the_specs_and_validators_back(cache, monkeypatch):
    first = build_parts()
    assert kept(cache, "validators") and kept(cache, "yaml")

    def not_again(schema):
        raise AssertionError("a validator was generated again")
    monkeypatch.setattr(validation, "_validator_code", not_again)
    second = build_parts()
    # the validator read back accepts and refuses what the one generated did, with the same answer
    refusals = []
    for parts in (first, second):
        validator = osm_send(parts).validator
        assert validator.validate(validator.instance({}, {}, VALID)) is None
        with pytest.raises(SimError) as refused:
            validator.validate(validator.instance({}, {}, {**VALID, "contact_way": 7}))
        refusals.append((refused.value.key, refused.value.fields.get("field")))
    assert refusals[0] == refusals[1] and refusals[0][1] == "contact_way"


def test_a_corrupt_cache_is_made_again(cache):
    build_parts()
    assert kept(cache, "validators")
    for path in kept(cache, "validators") + kept(cache, "yaml"):
        path.write_bytes(b"\x00not marshal")
    parts = build_parts()
    validator = osm_send(parts).validator
    assert validator.validate(validator.instance({}, {}, VALID)) is None
    assert all(path.read_bytes() != b"\x00not marshal" for path in kept(cache, "validators"))


def test_the_cache_keeps_each_source_under_its_own_hash(cache):
    made = []

    def make(value):
        made.append(value)
        return value
    assert cached("yaml", b"a: 1", lambda: make({"a": 1})) == {"a": 1}
    assert cached("yaml", b"a: 1", lambda: make({"a": "again"})) == {"a": 1}
    assert cached("yaml", b"a: 2", lambda: make({"a": 2})) == {"a": 2}
    assert made == [{"a": 1}, {"a": 2}]


def test_off_keeps_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(startup_cache.CACHE_ENVIRONMENT, "off")
    made = []
    for _ in range(2):
        cached("yaml", b"a: 1", lambda: made.append(1) or {"a": 1})
    assert made == [1, 1]


def test_an_unwritable_cache_or_a_value_marshal_cannot_keep_is_only_slower(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(startup_cache.CACHE_ENVIRONMENT, str(blocker / "cache"))
    assert cached("yaml", b"a: 1", lambda: {"a": 1}) == {"a": 1}
    monkeypatch.setenv(startup_cache.CACHE_ENVIRONMENT, str(tmp_path / "cache"))
    when = datetime.date(2026, 12, 2)   # what YAML makes of an unquoted date
    assert cached("yaml", b"d: 2026-12-02", lambda: {"d": when}) == {"d": when}
    assert not list((tmp_path / "cache").rglob("*.marshal"))


# valid, with two warnings (rules[1] and rules[2] are never reached) and a merge key
SHADOWED = """\
name: shadowed
products:
  osm: {code_ttl_s: 300}
rules:
  - name: slow-everything
    match: {product: osm}
    delay_ms: 5
  - match: {operation: osm.SendVerifyCodes}
    error: OSM.0001
  - match: {product: osm, body: {contact_value: "13800000000"}}
    <<: {times: 1}
    delay_ms: 5
"""

TYPO = "name: typo\nrules:\n  - match: {operation: osm.SendVerifyCode}\n    tims: 2\n"


def fresh_format():
    """A ScenarioFormat of its own: its validator not yet built, as at a start."""
    parts = build_parts()
    return ScenarioFormat(parts.products, parts.contributions)


def test_a_second_check_of_a_valid_scenario_reads_its_verdict_back(cache):
    first = fresh_format()
    checked = first.check(SHADOWED, "shadowed.yaml")
    assert "validator" in vars(first) and len(kept(cache, "scenarios")) == 2   # this one and the default
    second = fresh_format()
    assert second.check(SHADOWED, "shadowed.yaml") == checked
    assert "validator" not in vars(second)   # read back: nothing was validated
    assert second.check(SHADOWED, "shadowed.yaml", keep=False) == checked   # what a fresh check returns
    document, warnings = checked
    assert document["products"]["osm"] == {"code_ttl_s": 300} and document["rules"][2]["times"] == 1
    assert [warning.split(": never reached")[0] for warning in warnings] == ["shadowed.yaml:8:5: rules[1]",
                                                                             "shadowed.yaml:10:5: rules[2]"]


def test_a_start_with_its_scenarios_checked_before_never_imports_jsonschema(cache, tmp_path):
    scenario = tmp_path / "shadowed.yaml"
    scenario.write_text(SHADOWED)
    start = ("import json, sys\n"
             "from simulator.core.compose import create_simulator\n"
             "sim = create_simulator([sys.argv[1]])\n"
             "print(json.dumps(['jsonschema' in sys.modules, sim.world.scenario.document]))\n")
    runs = [json.loads(subprocess.run([sys.executable, "-c", start, str(scenario)], capture_output=True, text=True,
                                      check=True, timeout=60).stdout) for _ in range(2)]
    assert [imported for imported, _ in runs] == [True, False]
    assert runs[0][1] == runs[1][1] and runs[0][1]["name"] == "shadowed"


def test_a_refused_scenario_gives_every_problem_each_time(cache):
    refusals = []
    for _ in range(2):
        with pytest.raises(ScenarioError) as refused:
            fresh_format().check(TYPO, "typo.yaml")
        refusals.append((refused.value.problems, refused.value.located))
    assert refusals[0] == refusals[1]
    assert refusals[0][0] == [
        "typo.yaml:3:24: rules[0].match.operation: 'osm.SendVerifyCode' is not a known operation "
        "(did you mean 'osm.SendVerifyCodes'?)",
        "typo.yaml:4:5: rules[0].tims: unknown key 'tims' (did you mean 'times'?)"]
    assert len(kept(cache, "scenarios")) == 1   # the default scenario's only


def test_another_text_or_name_is_checked_afresh(cache):
    fresh_format().check(SHADOWED, "shadowed.yaml")
    renamed = fresh_format()
    _, warnings = renamed.check(SHADOWED, "renamed.yaml")
    assert warnings and all(warning.startswith("renamed.yaml:") for warning in warnings)
    assert "validator" in vars(renamed)
    changed = fresh_format()
    document, _ = changed.check(SHADOWED.replace("300", "301"), "shadowed.yaml")
    assert document["products"]["osm"] == {"code_ttl_s": 301} and "validator" in vars(changed)
    with pytest.raises(ScenarioError) as refused:
        fresh_format().check(SHADOWED.replace("OSM.0001", "OSM.NOPE"), "shadowed.yaml")
    assert "OSM.NOPE" in refused.value.problems[0]
    assert len(kept(cache, "scenarios")) == 4   # the default, the first, the renamed, the changed


def test_off_checks_every_time(monkeypatch):
    monkeypatch.setenv(startup_cache.CACHE_ENVIRONMENT, "off")
    checks = [fresh_format() for _ in range(2)]
    assert checks[0].check(SHADOWED, "s.yaml") == checks[1].check(SHADOWED, "s.yaml")
    assert all("validator" in vars(check) for check in checks)


def test_re2_is_loaded_with_the_first_regex_only(cache):
    # a server with no regex rule spares its 2.5 MB; one with a regex compiles it at load, not per request
    start = ("import sys\n"
             "from simulator.core.compose import simulator_from_texts\n"
             "plain = simulator_from_texts([('plain', 'name: plain')])\n"
             "before = 're2' in sys.modules\n"
             "regex = simulator_from_texts([('regex', 'rules: [{match: {operation: osm.SendVerifyCodes, "
             "body: {contact_value: {regex: \"^86\"}}}, error: OSM.0004}]')])\n"
             "print(before, 're2' in sys.modules)\n")
    ran = subprocess.run([sys.executable, "-c", start], capture_output=True, text=True, timeout=60)
    assert ran.stdout.split() == ["False", "True"], ran.stderr
