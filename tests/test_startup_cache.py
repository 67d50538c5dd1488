"""Start-up work kept between runs (core/startup_cache.py): a second start reads the parsed specs and
the generated validators back, and a cache that is missing, corrupt, off or unwritable only costs
the work again."""

import datetime

import pytest

from simulator.core import startup_cache
from simulator.core.compose import build_parts
from simulator.core.errors import SimError
from simulator.core.pipeline import validation
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
