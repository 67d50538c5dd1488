"""pytest fixtures that give a test a running otpsim; installing otpsim registers them (entry point `pytest11`).

    def test_sign_up(otpsim):
        app = MyApp(endpoint=otpsim.base_url)
        app.send_code("13800000000")
        assert app.check_code("13800000000", otpsim.outbox.latest("13800000000").code)

`otpsim` is a new simulator for each test; `otpsim_session` shares one per session (per xdist
worker) and puts it back to its starting state after each test. Both are `EmbeddedOtpsim`s.
"""

import json
from pathlib import Path

import pytest

from simulator.core.errors import SpecError
from simulator.core.scenario_format import ScenarioError
from simulator.core.compose import scenario_document
from simulator.embedded import EmbeddedOtpsim, as_list

MARKER = "otpsim"
OPTIONS = ("scenario", "seed", "tls", "products", "admin_token")
REPORTS = pytest.StashKey[list]()
WORKER_REPORTS = "otpsim_reports"


def pytest_addoption(parser):
    group = parser.getgroup("otpsim")
    group.addoption("--otpsim-report", action="store_true", default=None,
                    help="print the otpsim client report (documented failures met, findings) after the run")
    group.addoption("--otpsim-report-json", metavar="PATH", default=None,
                    help="write the otpsim client report as JSON to PATH (docs/report.md); implies collecting it")
    parser.addini("otpsim_report", type="bool", default=False,
                  help="print the otpsim client report after the run (as --otpsim-report)")
    parser.addini("otpsim_report_settings", type="linelist", default=[],
                  help="report thresholds as NAME=VALUE lines (docs/report.md)")


def _reporting(config) -> bool:
    return bool(config.getoption("--otpsim-report") or config.getoption("--otpsim-report-json")
                or config.getini("otpsim_report"))


def _report_settings(config):
    from simulator.core.report.settings import ReportSettings

    lines = dict(line.partition("=")[::2] for line in config.getini("otpsim_report_settings"))
    try:
        return ReportSettings.from_sources(ReportSettings.from_environment(), {k.strip(): v.strip() for k, v in lines.items()})
    except ValueError as problem:
        raise pytest.UsageError(f"otpsim_report_settings: {problem}") from None


def _keep_report(request, server: EmbeddedOtpsim):
    """The test's report, read from its simulator before the simulator forgets (nothing when not asked for)."""
    config = request.config
    if not _reporting(config):
        return
    from simulator.core.report import build_report

    report = server.run(build_report(server.simulator, _report_settings(config)))
    if report["summary"]["requests"] or report["summary"]["deliveries"]:
        config.stash.setdefault(REPORTS, []).append((request.node.nodeid, report))


def pytest_sessionfinish(session):
    config = session.config
    if _reporting(config) and hasattr(config, "workeroutput"):   # an xdist worker hands its reports over
        config.workeroutput[WORKER_REPORTS] = json.dumps(config.stash.get(REPORTS, []))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    reports = getattr(node, "workeroutput", {}).get(WORKER_REPORTS)
    if reports:
        node.config.stash.setdefault(REPORTS, []).extend(tuple(item) for item in json.loads(reports))


def pytest_terminal_summary(terminalreporter, config):
    if not _reporting(config) or hasattr(config, "workeroutput"):
        return
    from simulator.core.report import merge_reports
    from simulator.core.report.text import render

    merged = merge_reports(sorted(config.stash.get(REPORTS, []), key=lambda item: item[0]))
    path = config.getoption("--otpsim-report-json")
    if path:
        Path(path).write_text(json.dumps(merged, indent=1, ensure_ascii=False), encoding="utf-8")
    if config.getoption("--otpsim-report") or config.getini("otpsim_report"):
        terminalreporter.write_sep("=", "otpsim client report")
        terminalreporter.write(render(merged))
    if path:
        terminalreporter.write_line(f"otpsim client report written to {path}")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "otpsim(scenario=None, seed=None, tls=False, products=(), admin_token=None): the test's otpsim "
        "serves this scenario (a dict, a path relative to the test file, a packaged scenario's name, YAML "
        "text, or a list of these merged in order), with this seed, over HTTPS if tls, with the products of "
        "these folders (relative to the test file) beside the packaged ones, its admin API locked by "
        "admin_token (the fixture sends it)",
    )


def _requested_options(request) -> dict:
    """The otpsim markers' keywords, the closest marker winning, then an indirect parameter's."""
    options = {}
    for marker in reversed(list(request.node.iter_markers(MARKER))):
        if marker.args:
            pytest.fail(f"@pytest.mark.otpsim takes keywords only: {', '.join(OPTIONS)}", pytrace=False)
        options.update(marker.kwargs)
    options.update(getattr(request, "param", None) or {})
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        pytest.fail(f"otpsim has no option {', '.join(unknown)} (options: {', '.join(OPTIONS)})", pytrace=False)
    return options


def _refusal(problem: Exception) -> str:
    if isinstance(problem, ScenarioError):
        return "otpsim: scenario refused:\n  " + "\n  ".join(problem.problems)
    return f"otpsim: {problem}"


def _embedded(options: dict, base_dir) -> EmbeddedOtpsim:
    try:
        return EmbeddedOtpsim(**options, base_dir=base_dir)
    except (ScenarioError, SpecError, OSError) as problem:
        pytest.fail(_refusal(problem), pytrace=False)


@pytest.fixture
def otpsim(request):
    """A simulator of this test's own on a free 127.0.0.1 port; gone (thread, port, files) after the test.

    Choose its scenario, seed, HTTPS and extra product folders with
    `@pytest.mark.otpsim(scenario=..., seed=..., tls=True, products=[...])` or an indirect parameter;
    relative scenario paths and folders are read from the test file's directory.
    """
    with _embedded(_requested_options(request), request.path.parent) as server:
        yield server
        _keep_report(request, server)


@pytest.fixture(scope="session")
def otpsim_session_options() -> dict:
    """Override in a conftest.py to configure the session's simulator: `{"scenario":, "seed":, "tls":, "products":}`;
    relative scenario paths are read from the rootdir."""
    return {}


@pytest.fixture(scope="session")
def _otpsim_session_server(otpsim_session_options, pytestconfig):
    with _embedded(dict(otpsim_session_options), pytestconfig.rootpath) as server:
        yield server


@pytest.fixture
def otpsim_session(_otpsim_session_server, request):
    """The session's simulator; after each test its outbox, journal, codes, limits, calls, clock
    and scenario are as they were at the start. A marker may choose this test's scenario only."""
    server = _otpsim_session_server
    options = _requested_options(request)
    fixed = sorted(set(options) - {"scenario"})
    if fixed:
        pytest.fail(f"otpsim_session: {', '.join(fixed)} cannot change per test; set it in "
                    "otpsim_session_options, or use the otpsim fixture", pytrace=False)
    starting_scenario = server.scenario.get()
    if "scenario" in options:
        try:
            chosen = scenario_document(as_list(options["scenario"]), request.path.parent)
        except (ScenarioError, OSError) as problem:
            pytest.fail(_refusal(problem), pytrace=False)
        server.scenario.load(chosen)
    yield server
    _keep_report(request, server)
    server.reset()
    server.clock.wall_time()
    if server.scenario.get() != starting_scenario:
        server.scenario.load(starting_scenario)
