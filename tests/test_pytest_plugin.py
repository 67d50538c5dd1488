"""The pytest plugin as its users meet it: test files run by an inner pytest in its own process (pytester)."""

import json
import os
import socket
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import simulator
from simulator.embedded import EmbeddedOtpsim

pytest_plugins = ["pytester"]

CHECKOUT = str(Path(simulator.__file__).resolve().parents[1])

# Inner tests write what they saw, so the outer test can check what is left afterwards.
RECORDER = """
import json, os

def record(otpsim, **extra):
    seen = {"url": otpsim.base_url, "port": otpsim.port,
            "ca": str(otpsim.ca_path) if otpsim.ca_path else None, **extra}
    with open(os.environ["OTPSIM_RECORD"], "a") as out:
        out.write(json.dumps(seen) + "\\n")
"""
# Each inner process (xdist workers too) says which otpsim threads outlived its last test.
THREAD_CHECK = """
import json, os, threading

def pytest_sessionfinish(session):
    alive = [t.name for t in threading.enumerate() if t.name.startswith("otpsim-")]
    with open(os.environ["OTPSIM_RECORD"] + ".threads", "a") as out:
        out.write(json.dumps(alive) + "\\n")
"""


@pytest.fixture
def inner(pytester, monkeypatch):
    """An inner pytest that loads the plugin whether or not otpsim is installed, and a record of what its tests saw."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [CHECKOUT, os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")   # a second, not five, per inner run
    monkeypatch.setenv("OTPSIM_RECORD", str(pytester.path / "record"))
    pytester.makepyfile(recorder=RECORDER)
    pytester.makeconftest(THREAD_CHECK)
    return pytester


def recorded(pytester, suffix="") -> list:
    return [json.loads(line) for line in (pytester.path / f"record{suffix}").read_text().splitlines()]


def run(pytester, *args):
    """A real pytest process, as a user starts it; `-p` loads the plugin where otpsim is not installed."""
    return pytester.runpytest_subprocess("-p", "simulator.pytest_plugin", "-p", "no:cacheprovider", *args)


def refused(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def assert_nothing_left(pytester):
    assert all(alive == [] for alive in recorded(pytester, ".threads"))
    for test in recorded(pytester):
        assert refused(test["port"]), f"{test['url']} still answers"
        if test["ca"]:
            assert not Path(test["ca"]).parent.exists(), f"{test['ca']} is still there"


def test_each_test_gets_a_fresh_simulator_that_is_gone_afterwards(inner):
    inner.makepyfile(test_fresh="""
        import httpx
        from recorder import record

        def test_first(otpsim):
            record(otpsim)
            httpx.post(otpsim.base_url + "/v2/servicerequest/verifycodes/send", json={})
            otpsim.clock.advance(3600)
            assert len(otpsim.journal()) == 1

        def test_second(otpsim):
            record(otpsim)
            assert otpsim.journal() == []
            assert abs(otpsim.clock.read().offset_s) < 1
    """)
    run(inner).assert_outcomes(passed=2)
    first, second = recorded(inner)
    assert first["url"].startswith("http://127.0.0.1:") and first["port"] != second["port"]
    assert_nothing_left(inner)


def test_a_failing_test_leaves_no_thread_port_or_file_behind(inner):
    inner.makepyfile(test_failing="""
        import pytest
        from recorder import record

        @pytest.mark.otpsim(tls=True)
        def test_fails_while_serving(otpsim):
            record(otpsim)
            assert otpsim.ca_path.exists()
            raise RuntimeError("the app under test broke")

        def test_errors_in_its_own_fixture(otpsim, broken):
            pass

        @pytest.fixture
        def broken(otpsim):
            record(otpsim)
            raise RuntimeError("fixture broke")
    """)
    run(inner).assert_outcomes(failed=1, errors=1)
    assert_nothing_left(inner)


def test_installing_otpsim_is_enough(inner, monkeypatch):
    if not any(ep.value == "simulator.pytest_plugin" for ep in entry_points(group="pytest11")):
        pytest.skip("otpsim is not installed here, only on PYTHONPATH (CI installs it)")
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    inner.makepyfile(test_plain="""
        def test_nothing_to_configure(otpsim):
            assert otpsim.health().status == "ok"
    """)
    inner.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_ready_as_soon_as_the_context_opens():
    # how fast it gets ready is measured by bench/run.py (its "ready s" column), not by a timed test
    with EmbeddedOtpsim() as otpsim:
        assert otpsim.health().status == "ok"


def test_marker_chooses_the_scenario_by_name_file_dict_or_merged_list(inner):
    inner.makefile(".yaml", forced="""
        name: forced
        rules:
          - match: {operation: osm.SendVerifyCodes}
            error: OSM.0004
    """)
    inner.makepyfile(test_scenarios="""
        import httpx
        import pytest

        SEND = "/v2/servicerequest/verifycodes/send"
        RULE = {"match": {"operation": "osm.SendVerifyCodes"}, "error": "OSM.0003"}

        def answer(otpsim):
            return httpx.post(otpsim.base_url + SEND, json={}).json()["error_code"]

        def test_default_scenario(otpsim):
            assert otpsim.scenario.get()["name"] == "default"
            assert answer(otpsim) == "APIGW.0301"

        @pytest.mark.otpsim(scenario="forced.yaml")
        def test_file_beside_the_test(otpsim):
            assert answer(otpsim) == "OSM.0004"

        @pytest.mark.otpsim(scenario={"name": "inline", "rules": [RULE]})
        def test_dict(otpsim):
            assert otpsim.scenario.get()["name"] == "inline"
            assert answer(otpsim) == "OSM.0003"

        @pytest.mark.otpsim(scenario=["default", {"name": "default-plus-rule", "rules": [RULE]}])
        def test_merged_keeps_the_default_credentials(otpsim):
            document = otpsim.scenario.get()
            assert document["name"] == "default-plus-rule" and document["credentials"]["huawei_aksk"]
            assert answer(otpsim) == "OSM.0003"

        @pytest.mark.parametrize("otpsim", [{"scenario": "forced.yaml"}], indirect=True)
        def test_indirect_parameter(otpsim):
            assert answer(otpsim) == "OSM.0004"
    """)
    run(inner).assert_outcomes(passed=5)


def test_seed_makes_runs_repeatable_and_the_closest_marker_wins(inner):
    inner.makepyfile(test_seeded="""
        import httpx
        import pytest
        from recorder import record

        pytestmark = pytest.mark.otpsim(seed=7)

        def first_request_id(otpsim):
            return httpx.post(otpsim.base_url + "/v2/servicerequest/verifycodes/send", json={}).headers["x-request-id"]

        def test_once(otpsim):
            record(otpsim, request_id=first_request_id(otpsim))

        def test_again(otpsim):
            record(otpsim, request_id=first_request_id(otpsim))

        @pytest.mark.otpsim(seed=8)
        def test_other_seed(otpsim):
            record(otpsim, request_id=first_request_id(otpsim))
    """)
    run(inner).assert_outcomes(passed=3)
    once, again, other = [test["request_id"] for test in recorded(inner)]
    assert once == again != other


def test_https_on_request_with_a_ca_file_to_trust(inner):
    inner.makepyfile(test_tls="""
        import ssl
        import httpx
        import pytest
        from recorder import record

        pytestmark = pytest.mark.otpsim(tls=True)

        def test_https(otpsim):
            record(otpsim)
            assert otpsim.base_url.startswith("https://127.0.0.1:")
            trusted = ssl.create_default_context(cafile=str(otpsim.ca_path))
            assert httpx.get(otpsim.base_url + "/__otpsim/health", verify=trusted).status_code == 200
            with pytest.raises(httpx.ConnectError):
                httpx.get(otpsim.base_url + "/__otpsim/health")
            assert otpsim.health().status == "ok"

        @pytest.mark.otpsim(tls=False)
        def test_plain_http_where_the_closest_marker_says_so(otpsim):
            assert otpsim.base_url.startswith("http://") and otpsim.ca_path is None
    """)
    run(inner).assert_outcomes(passed=2)
    assert_nothing_left(inner)


def test_session_simulator_is_shared_and_put_back_after_each_test(inner):
    inner.makepyfile(test_session="""
        import httpx
        import pytest
        from recorder import record

        SEND = "/v2/servicerequest/verifycodes/send"
        RULE = {"match": {"operation": "osm.SendVerifyCodes"}, "error": "OSM.0003"}

        def test_changes_everything(otpsim_session):
            record(otpsim_session)
            httpx.post(otpsim_session.base_url + SEND, json={})
            otpsim_session.clock.set_mode("manual")
            otpsim_session.clock.advance(3600)
            otpsim_session.scenario.load({"name": "changed"})

        def test_finds_it_as_it_started(otpsim_session):
            record(otpsim_session)
            assert otpsim_session.journal() == []
            clock = otpsim_session.clock.read()
            assert clock.mode == "real" and abs(clock.offset_s) < 1
            assert otpsim_session.scenario.get()["name"] == "default"

        @pytest.mark.otpsim(scenario=["default", {"name": "for-one-test", "rules": [RULE]}])
        def test_marker_scenario_for_one_test(otpsim_session):
            record(otpsim_session)
            assert httpx.post(otpsim_session.base_url + SEND, json={}).json()["error_code"] == "OSM.0003"

        def test_and_back_again(otpsim_session):
            record(otpsim_session)
            assert otpsim_session.scenario.get()["name"] == "default"

        @pytest.mark.otpsim(seed=3)
        def test_seed_cannot_change_per_test(otpsim_session):
            pass
    """)
    result = run(inner)
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(["*otpsim_session: seed cannot change per test*"])
    seen = recorded(inner)
    assert len({test["url"] for test in seen}) == 1
    assert_nothing_left(inner)


def test_session_simulator_options_come_from_an_overridable_fixture(inner):
    inner.makeconftest(THREAD_CHECK + """
import pytest

@pytest.fixture(scope="session")
def otpsim_session_options():
    return {"tls": True, "scenario": ["default", "extra.yaml"]}
""")
    inner.makefile(".yaml", extra="name: session-extra\n")
    inner.makepyfile(test_options="""
        def test_configured(otpsim_session):
            assert otpsim_session.base_url.startswith("https://")
            assert otpsim_session.scenario.get()["name"] == "session-extra"
    """)
    run(inner).assert_outcomes(passed=1)


def test_parallel_workers_each_run_their_own_simulators(inner):
    inner.makepyfile(test_parallel="""
        import os
        import httpx
        import pytest
        from recorder import record

        @pytest.mark.parametrize("n", range(6))
        def test_isolated(otpsim, otpsim_session, n):
            record(otpsim, worker=os.environ["PYTEST_XDIST_WORKER"], session=otpsim_session.base_url)
            httpx.post(otpsim.base_url + "/v2/servicerequest/verifycodes/send", json={})
            assert len(otpsim.journal()) == 1
            assert otpsim_session.journal() == []
            httpx.post(otpsim_session.base_url + "/v2/servicerequest/verifycodes/send", json={})
    """)
    run(inner, "-p", "xdist", "-n", "2").assert_outcomes(passed=6)
    seen = recorded(inner)
    assert {test["worker"] for test in seen} == {"gw0", "gw1"}
    assert len({test["port"] for test in seen}) == 6
    assert len({test["session"] for test in seen}) == 2
    assert_nothing_left(inner)


def test_a_bad_marker_or_scenario_is_a_clear_setup_error(inner):
    inner.makepyfile(test_bad="""
        import pytest

        @pytest.mark.otpsim(scenario={"rules": [{"match": {"operation": "osm.Nope"}}]})
        def test_unknown_operation(otpsim):
            pass

        @pytest.mark.otpsim(scenario="missing.yaml")
        def test_missing_file(otpsim):
            pass

        @pytest.mark.otpsim(sed=1)
        def test_misspelt_option(otpsim):
            pass

        def test_unaffected(otpsim):
            pass
    """)
    result = run(inner)
    result.assert_outcomes(passed=1, errors=3)
    result.stdout.fnmatch_lines([
        "*otpsim: scenario refused:*",
        "*'osm.Nope' is not a known operation*",
        "*no scenario file*missing.yaml*",
        "*otpsim has no option sed*",
    ])
    assert "Traceback" not in result.stdout.str()


REPORTED = """
    import httpx

    def test_unsigned_sends(otpsim):
        for _ in range(2):
            httpx.post(otpsim.base_url + "/v2/servicerequest/verifycodes/send", json={})

    def test_a_forced_error(otpsim_session):
        httpx.post(otpsim_session.base_url + "/v2/servicerequest/verifycodes/send", json={},
                   headers={"X-Otpsim-Error": "OSM.0004"})
"""


def test_the_report_section_appears_only_when_asked_for(inner):
    inner.makepyfile(test_reported=REPORTED)
    quiet = run(inner)
    quiet.assert_outcomes(passed=2)
    assert "otpsim client report" not in quiet.stdout.str()

    asked = run(inner, "--otpsim-report", "--otpsim-report-json", "report.json")
    asked.assert_outcomes(passed=2)
    asked.stdout.fnmatch_lines(["*= otpsim client report =*", "otpsim client report: 3 requests, 0 pushes, 2/* documented codes met, 0 finding(s)",
                                "osm *3 *2/*", "OSM.0004 *500 *x1 *header X-Otpsim-Error",
                                "APIGW.0301@missing *401 *x2 *simulator", "otpsim client report written to report.json"])
    written = json.loads((inner.path / "report.json").read_text())
    [osm] = written["products"]
    assert {m["key"]: m["tests"] for m in osm["met"]} == {
        "APIGW.0301@missing": ["test_reported.py::test_unsigned_sends"], "OSM.0004": ["test_reported.py::test_a_forced_error"]}
    assert written["summary"]["requests"] == 3


def test_the_ini_option_turns_the_report_on_and_xdist_workers_hand_theirs_over(inner):
    inner.makepyfile(test_reported=REPORTED)
    inner.makeini("[pytest]\notpsim_report = true\notpsim_report_settings =\n    slow_receiver_ms = 50\n")
    result = run(inner, "-p", "xdist", "-n", "2", "--otpsim-report-json", "report.json")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*= otpsim client report =*", "osm *3 *2/*"])
    written = json.loads((inner.path / "report.json").read_text())
    assert written["settings"]["slow_receiver_ms"] == 50 and written["summary"]["requests"] == 3
