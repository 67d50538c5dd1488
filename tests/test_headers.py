"""RequestHeaders answers exactly as Starlette's Headers, only faster."""

from starlette.datastructures import Headers

from simulator.core.pipeline.headers import RequestHeaders

RAW = [(b"host", b"127.0.0.1"), (b"x-acs-date", b"2026-01-01T00:00:00Z"), (b"accept", b"a/b"), (b"accept", b"c/d")]


def test_lookups_match_starlette():
    fast, reference = RequestHeaders({"headers": RAW}), Headers(scope={"headers": RAW})
    for name in ("host", "HOST", "X-Acs-Date", "accept", "missing"):
        assert fast.get(name) == reference.get(name)
        assert (name in fast) == (name in reference)
        assert fast.getlist(name) == reference.getlist(name)
    assert fast["Accept"] == reference["Accept"] == "a/b"
    assert fast.items() == reference.items()
