"""Benchmark otpsim against a bare Starlette app answering the same bytes, in the same run.

For each scenario it starts `otpsim serve --quiet` (as a user would) and bench/bare.py (the
ceiling: the least a Python server on uvicorn does), then loads them in turn with wrk — keep-alive,
a fresh correctly signed request each time, every answer checked — over several alternating
rounds, and prints requests/s and its ratio to the bare app, p50 and p99 latency, the time from
process start to the first correct answer, and resident memory then and at its peak. With
--prism, Prism on the product's spec joins the rotation. Only 127.0.0.1; it stops what it
starts. See docs/performance.md.

    python bench/run.py [--rounds 5] [--seconds 3] [--only osm-send] [--prism]
"""

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from signing import SIGNERS

from simulator.core.spec import load_products, spec_dir

HERE = Path(__file__).resolve().parent
LOAD_SCRIPT = HERE / "load.lua"
HOST = "127.0.0.1"
# Prism as `prism mock` starts (a log line per request, to its log file here), and with logging off
PRISM_VARIANTS = {"prism": [], "prism-silent": ["--verboseLevel", "silent"]}

# Throwaway credentials of the benchmark's own scenario.
CREDENTIALS = {
    "huawei_aksk": [{"ak": "BENCHAK000000000000", "sk": "benchSecretKey00000000000000000000000000",
                     "domain_id": "bench0domain"}],
    "voice_apps": [{"app_key": "bench-voice-app-key", "app_secret": "bench-voice-app-secret"}],
    "alibaba": [{"access_key_id": "LTAIbenchKeyId0000", "access_key_secret": "benchAccessKeySecret0000000000"}],
}
HUAWEI = ("BENCHAK000000000000", "benchSecretKey00000000000000000000000000")
VOICE = ("bench-voice-app-key", "bench-voice-app-secret")
ALIBABA = ("LTAIbenchKeyId0000", "benchAccessKeySecret0000000000")
JSON = {"content-type": "application/json"}


@dataclass
class Scenario:
    name: str
    operation: str            # must be served by this checkout, else the scenario is skipped
    method: str
    path: str
    signer: str
    credentials: tuple        # (key id, secret)
    expect_status: int
    expect_body: str          # "" means an empty body; otherwise a text the body contains
    body: str = ""            # "{n}" becomes a number unique to each request
    query: str = ""           # canonical: sorted keys, encoded values
    headers: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)   # product settings the run needs


SCENARIOS = [
    # Full voice path: validation, X-AKSK digest with a fresh nonce, journal, a call scheduled.
    # Calls play out in about 0.3 s instead of about 30 s, so their events run inside the
    # measurement too and the calls in progress stay a few thousand; ports are lifted to match
    # (at the default 20, every call past the twentieth would answer 1020154 instead).
    Scenario("voice-callverify", "voice.CallVerify", "POST", "/rest/httpsessions/callVerify/v1.0", "wsse", VOICE,
             200, '"resultcode":"0"',
             body='{"displayNbr":"+8675528000088","calleeNbr":"+86{n}","languageType":2,'
                  '"preTone":"welcome.wav","verifyCode":"123456","times":3}',
             headers={"content-type": "application/json;charset=UTF-8"},
             settings={"voice": {"voice_ports": 100_000, "alerting_delay_s": 0.05, "answer_delay_s": 0.05,
                                 "tone_s": 0.05, "readout_s": 0.05}}),
    # AK/SK signature, codes state and the outbox; a new contact each time (one send a minute each).
    Scenario("osm-send", "osm.SendVerifyCodes", "POST", "/v2/servicerequest/verifycodes/send", "huawei-aksk", HUAWEI,
             200, "{}", body='{"contact_value":"{n}","contact_way":0,"area_code":"86"}', headers=JSON),
    # ACS3 signature with a fresh nonce and the per-caller limit, lifted so it does not answer instead.
    Scenario("cams-getcode", "cams.GetMigrationVerifyCode", "POST", "/", "acs3", ALIBABA, 200, '"Code":"OK"',
             query="CustSpaceId=29348393884001&Locale=zh_CN&Method=sms&PhoneNumber=86{n}",
             headers={"accept": "application/json", "x-acs-action": "GetMigrationVerifyCode",
                      "x-acs-version": "2020-06-06"},
             settings={"cams": {"qps": 1_000_000}}),
    # A signed request whose body breaks the schema: the documented validation error.
    Scenario("osm-invalid", "osm.SendVerifyCodes", "POST", "/v2/servicerequest/verifycodes/send", "huawei-aksk",
             HUAWEI, 200, "OSM.01010012", body='{"contact_value":"{n}","contact_way":7,"area_code":"86"}',
             headers=JSON),
]


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict
    body: bytes


class Numbers:
    """Unique numbers for "{n}": the probes count from 1, each wrk run gets its own 1e9 block."""

    def __init__(self):
        self._probe = 0
        self._runs = 0

    def probe(self) -> int:
        self._probe += 1
        return self._probe

    def run_base(self) -> int:
        self._runs += 1
        return self._runs * 1_000_000_000


def make_request(scenario: Scenario, n: int, port: int, now: float | None = None) -> Request:
    """Request number `n` of the scenario, signed at `now` (default: the current time)."""
    text = str(n)
    request = Request(scenario.method, scenario.path, scenario.query.replace("{n}", text),
                      {"host": f"{HOST}:{port}", **scenario.headers}, scenario.body.replace("{n}", text).encode())
    request.headers = SIGNERS[scenario.signer](request, *scenario.credentials, f"p{text}",
                                               time.time() if now is None else now)
    return request


def send(request: Request, port: int) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        target = request.path + (f"?{request.query}" if request.query else "")
        connection.request(request.method, target, body=request.body or None, headers=request.headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def is_correct(expect_status: int, expect_body: str | None, status: int, body: bytes) -> bool:
    """`expect_body` "" wants an empty body, None any body, other text a body containing it."""
    if status != expect_status:
        return False
    if expect_body is None:
        return True
    return body == b"" if expect_body == "" else expect_body.encode() in body


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class WrongAnswer(SystemExit):
    """A server answered its first probe wrongly (fatal, unless the server is optional)."""


class Server:
    """A server process: started, probed until it answers correctly, measured, stopped.

    `expect_status` and `expect_body` say what a correct answer is under load (see is_correct;
    a body of None is not checked).
    """

    def __init__(self, label: str, argv: list[str], port: int, log_dir: Path, expect_status: int,
                 expect_body: str | None):
        self.label, self.argv, self.port = label, argv, port
        self.expect_status, self.expect_body = expect_status, expect_body
        self.log = log_dir / f"{label}-{port}.log"
        self.process = None
        self.ready_s = None
        self.ready_rss_mb = None

    def start(self, probe) -> tuple[int, dict, bytes]:
        """Start, then repeat `probe(self)` until it returns a correct answer; that answer."""
        started = time.perf_counter()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = started + 30
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.label} exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                answer, correct = probe(self)
            except (ConnectionError, http.client.HTTPException, OSError):
                time.sleep(0.005)
                continue
            if correct:
                self.ready_s = time.perf_counter() - started
                self.ready_rss_mb = self.rss_mb("VmRSS")
                return answer
            raise WrongAnswer(f"{self.label} answered the probe wrongly: {answer[0]} {answer[2][:300]!r}")
        raise SystemExit(f"{self.label} was not ready within 30 s:\n{self.log.read_text()}")

    def rss_mb(self, field: str = "VmHWM") -> float:
        """Resident memory now (VmRSS) or at its peak so far (VmHWM)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no {field} in /proc status")

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def wrk(scenario: Scenario, server: Server, seconds: int, args, seq_base: int) -> dict:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BENCH_")},
        "BENCH_METHOD": scenario.method, "BENCH_PATH": scenario.path, "BENCH_QUERY": scenario.query,
        "BENCH_BODY": scenario.body, "BENCH_HOST": f"{HOST}:{server.port}",
        "BENCH_HEADERS": "\n".join(f"{k}:{v}" for k, v in scenario.headers.items()),
        "BENCH_SIGNER": scenario.signer, "BENCH_KEY_ID": scenario.credentials[0],
        "BENCH_SECRET": scenario.credentials[1], "BENCH_SEQ_BASE": str(seq_base),
        "BENCH_EXPECT_STATUS": str(server.expect_status),
    }
    if server.expect_body is not None:
        env["BENCH_EXPECT_BODY"] = server.expect_body
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--timeout", "5s",
               "-s", str(LOAD_SCRIPT), f"http://{HOST}:{server.port}/"]
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
    for line in finished.stdout.splitlines():
        if line.startswith("BENCH "):
            result = json.loads(line[len("BENCH "):])
            result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
            return result
    raise SystemExit(f"wrk gave no result (exit {finished.returncode}):\n{finished.stdout}\n{finished.stderr}")


def ensure_wrk():
    if shutil.which("wrk"):
        return
    print("wrk is not installed; installing the Debian package (apt-get install wrk) ...", flush=True)
    if os.geteuid() == 0 and shutil.which("apt-get"):
        for step in (["apt-get", "install", "-y", "-q", "wrk"], ["apt-get", "update", "-q"],
                     ["apt-get", "install", "-y", "-q", "wrk"]):
            subprocess.run(step, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if shutil.which("wrk"):
                return
    raise SystemExit("bench needs wrk and could not install it: install it (Debian: `apt-get install wrk`) "
                     "and run again")


def ensure_prism() -> str | None:
    """The prism command, installed with npm into a cache directory on first use; None (and why,
    printed) when it cannot be had, so the run goes on without Prism rows."""
    prefix = Path.home() / ".cache" / "otpsim-bench" / "prism"
    command = prefix / "node_modules" / ".bin" / "prism"
    if command.exists():
        return str(command)
    if not shutil.which("npm"):
        print("no Prism rows: --prism needs npm (Debian: `apt-get install npm`)", flush=True)
        return None
    print(f"installing @stoplight/prism-cli into {prefix} ...", flush=True)
    prefix.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--silent",
                        "@stoplight/prism-cli"], check=False, timeout=600)
    except subprocess.TimeoutExpired:
        pass
    if not command.exists():
        print("no Prism rows: npm could not install @stoplight/prism-cli (offline?)", flush=True)
        return None
    return str(command)


def otpsim_command() -> str:
    beside = Path(sys.executable).parent / "otpsim"
    found = str(beside) if beside.exists() else shutil.which("otpsim")
    if not found:
        raise SystemExit("otpsim is not installed in this environment: `pip install -e .` first")
    return found


def served_operations() -> set[str]:
    return {op.qualified for product in load_products().values() for op in product.operations}


def bench_scenario_file(scenarios: list[Scenario], directory: Path) -> Path:
    products: dict = {}
    for scenario in scenarios:
        for product, settings in scenario.settings.items():
            products.setdefault(product, {}).update(settings)
    document = {"name": "bench", "seed": 1, "credentials": CREDENTIALS, "products": products}
    path = directory / "bench-scenario.json"
    path.write_text(json.dumps(document))  # JSON is YAML
    return path


def bench_one(scenario: Scenario, args, scenario_file: Path, numbers: Numbers, work: Path, prism: str | None) -> dict:
    """Start the servers, load them in turn over the rounds, stop them; a summary per server."""
    def probe(server: Server):
        status, headers, body = send(make_request(scenario, numbers.probe(), server.port), server.port)
        return (status, headers, body), is_correct(server.expect_status, server.expect_body, status, body)

    with ExitStack() as cleanup:
        def start(server: Server, first_answer=probe):
            cleanup.callback(server.stop)
            return server.start(first_answer)

        port = free_port()
        otpsim = Server("otpsim", [otpsim_command(), "serve", "--quiet", "--host", HOST, "--port", str(port),
                                   "--scenario", str(scenario_file)], port, work, scenario.expect_status,
                        scenario.expect_body)
        status, headers, body = start(otpsim)

        answer = work / f"{scenario.name}.answer"
        answer.write_bytes(body)
        port = free_port()
        bare_argv = [sys.executable, str(HERE / "bare.py"), "--port", str(port), "--method", scenario.method,
                     "--path", scenario.path, "--status", str(status), "--body-file", str(answer)]
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        if content_type:
            bare_argv += ["--content-type", content_type]
        bare = Server("bare", bare_argv, port, work, scenario.expect_status, scenario.expect_body)
        start(bare)
        servers = {"bare": bare, "otpsim": otpsim}

        if prism:
            # Prism answers from the spec's examples: its first answer sets the status that counts as
            # correct for it, and its bodies are not checked. Started twice: as `prism mock` starts by
            # default (a log line per request), and with its logging off.
            product = scenario.operation.split(".")[0]
            for label, flags in PRISM_VARIANTS.items():
                port = free_port()
                mock = Server(label, [prism, "mock", "-h", HOST, "-p", str(port), *flags,
                                      str(spec_dir() / f"{product}.yaml")], port, work, 0, None)

                def prism_probe(server: Server):
                    answer, _ = probe(server)
                    server.expect_status = answer[0]
                    return answer, answer[0] not in (404, 405) and answer[0] < 500

                try:
                    start(mock, prism_probe)
                    servers[label] = mock
                except WrongAnswer as refusal:
                    print(f"  no {label} row: {refusal}", flush=True)

        labels = list(servers)
        warmups = {label: wrk(scenario, servers[label], args.warmup, args, numbers.run_base()) for label in labels}
        rounds = {label: [] for label in labels}
        for index in range(args.rounds):
            shift = index % len(labels)  # each server goes first in turn
            for label in labels[shift:] + labels[:shift]:
                rounds[label].append(wrk(scenario, servers[label], args.seconds, args, numbers.run_base()))
        return {label: summarise(rounds[label], rounds["bare"], warmups[label], server)
                for label, server in servers.items()}


def summarise(rounds: list[dict], bare_rounds: list[dict], warmup: dict, server: Server) -> dict:
    return {
        "rps": statistics.median(r["rps"] for r in rounds),
        # each round against the bare app's round next to it: both saw the same machine
        "ratio": statistics.median(r["rps"] / b["rps"] for r, b in zip(rounds, bare_rounds)),
        "answers": f"{server.expect_status}" + ("" if server.expect_body is not None else ", body unchecked"),
        "p50_ms": statistics.median(r["p50_us"] for r in rounds) / 1000,
        "p99_ms": statistics.median(r["p99_us"] for r in rounds) / 1000,
        "ready_s": server.ready_s,
        "ready_rss_mb": server.ready_rss_mb,
        "rss_mb": server.rss_mb(),
        "served": warmup["requests"] + sum(r["requests"] for r in rounds),
        "wrong": sum(r["wrong"] for r in rounds),
        "socket_errors": sum(r["socket_errors"] for r in rounds),
        "first_wrong": next((r["first_wrong"] for r in rounds if r["first_wrong"]), ""),
    }


def machine_line() -> str:
    import uvicorn
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split(" [")[0]
    http_impl = "httptools" if _importable("httptools") else "h11"
    loop = "uvloop" if _importable("uvloop") else "asyncio"
    load = os.getloadavg()[0]
    return (f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; nproc {os.cpu_count()}; "
            f"Python {platform.python_version()}; uvicorn {uvicorn.__version__} ({http_impl}, {loop}); {wrk_version}; "
            f"load average {load:.1f} before the run")


def _importable(module: str) -> bool:
    from importlib.util import find_spec
    return find_spec(module) is not None


def table(results: dict, args) -> str:
    lines = [
        f"{args.rounds} rounds × {args.seconds} s per server, wrk {args.connections} connections, "
        f"{args.threads} thread(s), keep-alive; medians over rounds",
        "",
        "| scenario | server | requests/s | ratio | p50 ms | p99 ms | ready s | RSS ready MB | peak RSS MB | served |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, result in results.items():
        for label, row in result.items():
            ratio = f"{row['ratio']:.2f}" if label != "bare" else "1"
            server = label if row["answers"] == result["bare"]["answers"] else f"{label} (answers {row['answers']})"
            lines.append(f"| {name} | {server} | {row['rps']:.0f} | {ratio} | {row['p50_ms']:.2f} | "
                         f"{row['p99_ms']:.2f} | {row['ready_s']:.2f} | {row['ready_rss_mb']:.0f} | {row['rss_mb']:.0f} | "
                         f"{row['served']} |")
    return "\n".join(lines)


LIMITS = (("p99 <= 10 ms", "p99_ms", 10), ("ready <= 0.5 s", "ready_s", 0.5), ("peak RSS <= 80 MB", "rss_mb", 80))


def target_report(results: dict, served: set[str]) -> list[str]:
    """The issue's targets, which are set for the full voice path; then the same limits over every scenario."""
    lines = []
    voice = results.get("voice-callverify")
    if voice is None:
        why = "not run" if "voice.CallVerify" in served else "voice.CallVerify is not served by this checkout"
        lines.append(f"voice-callverify targets: not measured ({why})")
    else:
        otpsim = voice["otpsim"]
        lines.append(f"voice-callverify ratio >= 0.5: {verdict(otpsim['ratio'] >= 0.5)} ({otpsim['ratio']:.2f})")
        if "prism" not in voice:
            lines.append("voice-callverify otpsim >= 5x prism: not measured (no Prism rows)")
        else:
            times = {label: otpsim["ratio"] / voice[label]["ratio"] for label in PRISM_VARIANTS if label in voice}
            others = "".join(f"; {value:.1f}x {label}" for label, value in times.items() if label != "prism")
            lines.append(f"voice-callverify otpsim >= 5x prism: {verdict(times['prism'] >= 5)} "
                         f"({times['prism']:.1f}x prism as started by default{others})")
        for text, key, limit in LIMITS:
            lines.append(f"voice-callverify {text}: {verdict(otpsim[key] <= limit)} ({otpsim[key]:.2f})")
    rows = {name: result["otpsim"] for name, result in results.items()}
    for text, key, limit in LIMITS:
        worst = max(rows, key=lambda name: rows[name][key])
        lines.append(f"every scenario {text}: {verdict(rows[worst][key] <= limit)} (worst {rows[worst][key]:.2f}, {worst})")
    return lines


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--rounds", type=int, default=5, help="alternating rounds per server (default 5)")
    options.add_argument("--seconds", type=int, default=3, help="seconds of load per round (default 3)")
    options.add_argument("--warmup", type=int, default=1, help="seconds of unmeasured load first (default 1)")
    options.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    options.add_argument("--threads", type=int, default=1,
                         help="wrk threads (default 1: the other core is the server's)")
    options.add_argument("--prism", action="store_true",
                         help="also run Prism (npm @stoplight/prism-cli, installed on first use) on the product's spec")
    options.add_argument("--only", action="append", metavar="SCENARIO",
                         choices=[s.name for s in SCENARIOS], help="run only this scenario (repeatable)")
    args = options.parse_args()

    ensure_wrk()
    prism = ensure_prism() if args.prism else None
    served = served_operations()
    chosen = [s for s in SCENARIOS if not args.only or s.name in args.only]
    runnable = [s for s in chosen if s.operation in served]
    for skipped in (s for s in chosen if s.operation not in served):
        print(f"skipped {skipped.name}: {skipped.operation} is not served by this checkout")
    print(machine_line(), flush=True)

    results, numbers = {}, Numbers()
    with tempfile.TemporaryDirectory(prefix="otpsim-bench-") as scratch:
        work = Path(scratch)
        scenario_file = bench_scenario_file(runnable, work)
        for scenario in runnable:
            print(f"{scenario.name} ...", flush=True)
            results[scenario.name] = bench_one(scenario, args, scenario_file, numbers, work, prism)

    print()
    print(table(results, args))
    print()
    print("\n".join(target_report(results, served)))
    problems = [f"{name} {label}: {row['wrong']} wrong answers (first: {row['first_wrong']}), "
                f"{row['socket_errors']} socket errors"
                for name, result in results.items() for label, row in result.items()
                if row["wrong"] or row["socket_errors"]]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
