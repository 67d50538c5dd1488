"""Benchmark otpsim against its peers, side by side in the same run.

For each scenario it starts `otpsim serve --quiet` (as a user would), the same with its world in
Redis on one worker and on several (`--store`, `--workers`; one redis-server for the run, installed
on first use, without persistence), bench/bare.py (the ceiling:
the least a Python server on the same uvicorn stack does) and the peers: WireMock (journal on and
off; a stub answering the same bytes, the body matched against the operation's JSON schema),
Prism on the product's spec, and Mockoon (a route answering the same bytes), each installed on
first use into a cache folder outside the repository. It warms each server until its throughput
stops rising, then loads them in turn with wrk — keep-alive, a fresh correctly signed request each
time, every answer checked — over several alternating rounds, and prints requests/s and its ratio
to the bare app and to WireMock in the same round, p50 and p99 latency, CPU (and CPU per request,
Redis's own counted in for the rows on Redis), the time from process start to the first correct
answer, and resident memory then and at its peak (every worker's, summed); then what the shared
store costs per request against the world in memory. Only 127.0.0.1; it stops what it starts. See
docs/performance.md.

    python bench/run.py [--rounds 5] [--seconds 3] [--only voice-callverify] [--peers wiremock,prism,mockoon]
                        [--shared 1,2,4]
"""

import argparse
import base64
import compileall
import http.client
import importlib.util
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

from redis_server import running_redis
from signing import SIGNERS

import simulator
from simulator.core.compose import create_simulator
from simulator.core.spec import load_products, spec_dir

from simulator.core.serving.server import server_stack

HERE = Path(__file__).resolve().parent
LOAD_SCRIPT = HERE / "load.lua"
HOST = "127.0.0.1"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "otpsim-bench"
PEERS = ("wiremock", "prism", "mockoon")
# Prism as `prism mock` starts (a log line per request, to its log file here), and with logging off
PRISM_VARIANTS = {"prism": [], "prism-silent": ["--verboseLevel", "silent"]}
# WireMock as it starts (every request kept in its journal), and with the journal off
WIREMOCK_VARIANTS = {"wiremock": [], "wiremock-no-journal": ["--no-request-journal"]}
START_TIMEOUT_S = 60     # a JVM on a busy machine
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

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
    body_valid: bool = True   # whether the body meets the operation's schema (WireMock's stub matches either way)
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
             headers=JSON, body_valid=False),
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
    """A server answered its first probe wrongly (fatal, unless the server is a peer)."""


def process_tree(pid: int) -> list[int]:
    """`pid` and every process descended from it (a peer's launcher may start the server as a child)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(parents.get(current, ()))
    return tree


class Server:
    """A server process: started, probed until it answers correctly, measured, stopped.

    `expect_status` and `expect_body` say what a correct answer is under load (see is_correct;
    a body of None is not checked). `store` is the redis-server it keeps its world in, if any: its
    CPU is part of the server's cost.
    """

    def __init__(self, label: str, argv: list[str], port: int, log_dir: Path, expect_status: int,
                 expect_body: str | None, store=None):
        self.label, self.argv, self.port = label, argv, port
        self.expect_status, self.expect_body = expect_status, expect_body
        self.store = store
        self.log = log_dir / f"{label}-{port}.log"
        self.process = None
        self.ready_s = None
        self.ready_rss_mb = None

    def start(self, probe) -> tuple[int, dict, bytes]:
        """Start, then repeat `probe(self)` until it returns a correct answer; that answer."""
        started = time.perf_counter()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = started + START_TIMEOUT_S
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise WrongAnswer(f"{self.label} exited with {self.process.returncode}:\n{self.log.read_text()[-2000:]}")
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
        raise WrongAnswer(f"{self.label} was not ready within {START_TIMEOUT_S} s:\n{self.log.read_text()[-2000:]}")

    def rss_mb(self, field: str = "VmHWM") -> float:
        """Resident memory of the process tree now (VmRSS) or at each one's peak so far (VmHWM), summed."""
        total_kb = 0
        for pid in process_tree(self.process.pid):
            try:
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            except OSError:
                continue
            total_kb += next((int(line.split()[1]) for line in lines if line.startswith(field + ":")), 0)
        return total_kb / 1024

    def cpu_s(self) -> float:
        """CPU time (user + system) the process tree has used so far."""
        ticks = 0
        for pid in process_tree(self.process.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])   # utime, stime
        return ticks / CLOCK_TICKS

    def store_cpu_s(self) -> float:
        """CPU time its store's redis-server has used so far (0 without one)."""
        return self.store.cpu_s() if self.store else 0.0

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
    cpu_before, store_before = server.cpu_s(), server.store_cpu_s()
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
    cpu_used, store_used = server.cpu_s() - cpu_before, server.store_cpu_s() - store_before
    for line in finished.stdout.splitlines():
        if line.startswith("BENCH "):
            result = json.loads(line[len("BENCH "):])
            result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
            result["cpu_percent"] = 100 * cpu_used / (result["duration_us"] / 1e6)   # 100: one core busy
            result["cpu_s"], result["store_cpu_s"] = cpu_used, store_used
            return result
    raise SystemExit(f"wrk gave no result (exit {finished.returncode}):\n{finished.stdout}\n{finished.stderr}")


def warm(scenario: Scenario, server: Server, args, numbers: "Numbers") -> list[dict]:
    """Runs of unmeasured load until the throughput stops rising: two runs in a row not 5% above
    the best before them (one slow run on a shared machine is not the end of a JIT's warming:
    WireMock's JVM, Prism's and Mockoon's V8 compile their hot paths as they run); at most
    --max-warmups runs."""
    runs = [wrk(scenario, server, args.warmup, args, numbers.run_base())]
    best, flat = runs[0]["rps"], 0
    while flat < 2 and len(runs) < args.max_warmups:
        runs.append(wrk(scenario, server, args.warmup, args, numbers.run_base()))
        flat = flat + 1 if runs[-1]["rps"] < 1.05 * best else 0
        best = max(best, runs[-1]["rps"])
    return runs


def ensure_wrk():
    if shutil.which("wrk"):
        return
    print("wrk is not installed; installing the Debian package (apt-get install wrk) ...", flush=True)
    if not apt_install("wrk", "wrk"):
        raise SystemExit("bench needs wrk and could not install it: install it (Debian: `apt-get install wrk`) "
                         "and run again")


def ensure_redis() -> str | None:
    """redis-server, for otpsim's world in Redis, installed when missing; None, said why, when it cannot be had."""
    if importlib.util.find_spec("redis") is None:
        print("otpsim's world in Redis needs redis-py: `pip install -e '.[shared]'`", flush=True)
        return None
    if not shutil.which("redis-server"):
        print("redis-server is not installed; installing the Debian package (apt-get install redis-server) ...",
              flush=True)
        if not apt_install("redis-server", "redis-server"):
            print("redis-server could not be installed (Debian: `apt-get install redis-server`)", flush=True)
            return None
    return shutil.which("redis-server")


def apt_install(package: str, command: str) -> bool:
    """Install a Debian package (as root) until `command` is on the PATH; whether it is."""
    if os.geteuid() == 0 and shutil.which("apt-get"):
        for step in (["apt-get", "install", "-y", "-q", package], ["apt-get", "update", "-q"],
                     ["apt-get", "install", "-y", "-q", package]):
            subprocess.run(step, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if shutil.which(command):
                return True
    return bool(shutil.which(command))


def npm_install(folder: str, package: str, wanted: str) -> Path | None:
    """`wanted` (a path inside node_modules) from the npm package, installed into the bench cache
    on first use; None, said why, when it cannot be had."""
    prefix = CACHE / folder
    found = sorted(prefix.glob(f"node_modules/{wanted}"))
    if found:
        return found[-1]
    if not shutil.which("npm"):
        print(f"no {folder} rows: it comes from npm, which is missing (Debian: `apt-get install npm`)", flush=True)
        return None
    print(f"installing {package} into {prefix} ...", flush=True)
    prefix.mkdir(parents=True, exist_ok=True)
    try:   # `@latest`: a bare name could be taken for a folder of that name
        subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--silent",
                        f"{package}@latest"], cwd=prefix, check=False, timeout=600)
    except subprocess.TimeoutExpired:
        pass
    found = sorted(prefix.glob(f"node_modules/{wanted}"))
    if not found:
        print(f"no {folder} rows: npm could not install {package} (offline?)", flush=True)
        return None
    return found[-1]


def ensure_peers(wanted: list[str]) -> dict:
    """What each wanted peer runs with, installed when missing; a peer that cannot be had is left
    out, and said so."""
    tools = {}
    if "wiremock" in wanted:
        java = shutil.which("java")
        if not java:
            print("java is not installed; installing the JDK from Debian (apt-get install default-jre-headless) ...",
                  flush=True)
            java = shutil.which("java") if apt_install("default-jre-headless", "java") else None
        jar = npm_install("wiremock", "wiremock", "wiremock/build/wiremock-standalone-*.jar")
        if not java:
            print("no wiremock rows: it needs java (Debian: `apt-get install default-jre-headless`)", flush=True)
        elif jar:
            tools["wiremock"] = (java, jar)
    if "prism" in wanted:
        prism = npm_install("prism", "@stoplight/prism-cli", ".bin/prism")
        if prism:
            tools["prism"] = prism
    if "mockoon" in wanted:
        mockoon = npm_install("mockoon", "@mockoon/cli", ".bin/mockoon-cli")
        if mockoon and shutil.which("node"):
            tools["mockoon"] = mockoon
    return tools


def otpsim_command() -> str:
    beside = Path(sys.executable).parent / "otpsim"
    found = str(beside) if beside.exists() else shutil.which("otpsim")
    if not found:
        raise SystemExit("otpsim is not installed in this environment: `pip install -e .` first")
    return found


def compile_package():
    """Bytecode for otpsim's modules, as installing its wheel writes it: a checkout run with
    PYTHONDONTWRITEBYTECODE set would compile them again at every start."""
    compileall.compile_dir(Path(simulator.__file__).parent, quiet=1)


def served_operations() -> dict:
    return {op.qualified: op for product in load_products().values() for op in product.operations}


def bench_scenario_file(scenarios: list[Scenario], directory: Path) -> Path:
    products: dict = {}
    for scenario in scenarios:
        for product, settings in scenario.settings.items():
            products.setdefault(product, {}).update(settings)
    document = {"name": "bench", "seed": 1, "credentials": CREDENTIALS, "products": products}
    path = directory / "bench-scenario.json"
    path.write_text(json.dumps(document))  # JSON is YAML
    return path


@dataclass
class FirstAnswer:
    """otpsim's answer to the first probe: what bare, WireMock and Mockoon answer every request with."""
    status: int
    content_type: str | None
    body: bytes


def json_schema(node):
    """An OpenAPI 3.0 schema as plain JSON Schema: without its annotations (example, nullable, x-*)."""
    if isinstance(node, dict):
        return {key: json_schema(value) for key, value in node.items()
                if key not in ("example", "nullable") and not key.startswith("x-")}
    if isinstance(node, list):
        return [json_schema(value) for value in node]
    return node


def wiremock_stub(scenario: Scenario, operation, answer: FirstAnswer) -> dict:
    """A stub on the operation's method and path (and RPC action) answering `answer`; a JSON body is
    matched against the operation's schema (not matching it, for a scenario whose body breaks it)."""
    request = {"method": scenario.method, "urlPath": scenario.path}
    action = scenario.headers.get("x-acs-action")
    if action:
        request["headers"] = {"x-acs-action": {"equalTo": action}}
    content = (operation.raw.get("requestBody") or {}).get("content") or {}
    schema = next((media["schema"] for kind, media in content.items() if "json" in kind and "schema" in media), None)
    if schema is not None:
        pattern = {"matchesJsonSchema": json.dumps(json_schema(schema)), "schemaVersion": "V4"}
        request["bodyPatterns"] = [pattern if scenario.body_valid else {"not": pattern}]
    response = {"status": answer.status, "base64Body": base64.b64encode(answer.body).decode()}
    if answer.content_type:
        response["headers"] = {"Content-Type": answer.content_type}
    return {"request": request, "response": response}


MOCKOON_ENVIRONMENT = """
const fs = require("fs");
const commons = require(process.argv[1] + "/node_modules/@mockoon/commons");
const [method, endpoint, status, contentType, bodyFile, out] = process.argv.slice(2);
const environment = commons.BuildEnvironment({hasDefaultRoute: false, hasContentTypeHeader: false, hasCorsHeaders: false});
const route = commons.BuildHTTPRoute(false, {endpoint, body: ""});
route.method = method.toLowerCase();
const response = commons.BuildRouteResponse();
Object.assign(response, {statusCode: Number(status), body: fs.readFileSync(bodyFile, "utf8"), default: true,
                         disableTemplating: true, headers: contentType ? [{key: "Content-Type", value: contentType}] : []});
route.responses = [response];
environment.routes = [route];
environment.rootChildren = [{type: "route", uuid: route.uuid}];
fs.writeFileSync(out, JSON.stringify(environment));
"""


def peer_servers(peer: str, tool, scenario: Scenario, operation, answer: FirstAnswer, answer_file: Path,
                 work: Path) -> dict[str, Server]:
    """The servers of one peer for a scenario, not started: label -> Server."""
    product = scenario.operation.split(".")[0]
    servers = {}
    if peer == "wiremock":
        java, jar = tool
        for label, flags in WIREMOCK_VARIANTS.items():
            root = work / f"{label}-{scenario.name}"
            (root / "mappings").mkdir(parents=True)
            (root / "mappings" / "stub.json").write_text(json.dumps(wiremock_stub(scenario, operation, answer)))
            port = free_port()
            servers[label] = Server(label, [java, "-jar", str(jar), "--port", str(port), "--bind-address", HOST,
                                            "--root-dir", str(root), "--disable-banner", *flags],
                                    port, work, scenario.expect_status, scenario.expect_body)
    elif peer == "prism":
        if product == "cams":   # one path for every action, the action in a header: Prism cannot route it
            print(f"  no prism rows: Prism cannot route {product}'s RPC actions", flush=True)
            return {}
        for label, flags in PRISM_VARIANTS.items():
            port = free_port()
            # it answers from the spec's examples: its first answer sets the status that counts as correct
            servers[label] = Server(label, [str(tool), "mock", "-h", HOST, "-p", str(port), *flags,
                                            str(spec_dir() / f"{product}.yaml")], port, work, 0, None)
    elif peer == "mockoon":
        environment = work / f"mockoon-{scenario.name}.json"
        subprocess.run(["node", "-e", MOCKOON_ENVIRONMENT, str(tool.parents[2]), scenario.method,
                        scenario.path.lstrip("/"), str(answer.status), answer.content_type or "", str(answer_file),
                        str(environment)], check=True, timeout=60)
        port = free_port()
        servers["mockoon"] = Server("mockoon", [str(tool), "start", "--data", str(environment), "--port", str(port),
                                                "--hostname", HOST, "--disable-log-to-file"],
                                    port, work, scenario.expect_status, scenario.expect_body)
    return servers


def bench_one(scenario: Scenario, operation, args, scenario_file: Path, numbers: Numbers, work: Path,
              tools: dict, stack, redis) -> dict:
    """Start the servers, warm them, load them in turn over the rounds, stop them; a summary per server.
    `redis` (a RedisServer, or None for no rows on Redis) holds the worlds of the `otpsim redis xN` rows."""
    def probe(server: Server):
        status, headers, body = send(make_request(scenario, numbers.probe(), server.port), server.port)
        if server.expect_status == 0:   # Prism: any answer that is not a routing or server failure
            server.expect_status = status
            return (status, headers, body), status not in (404, 405) and status < 500
        return (status, headers, body), is_correct(server.expect_status, server.expect_body, status, body)

    with ExitStack() as cleanup:
        def start(server: Server):
            cleanup.callback(server.stop)
            return server.start(probe)

        def serve(port: int) -> list[str]:
            return [otpsim_command(), "serve", "--quiet", "--host", HOST, "--port", str(port),
                    "--scenario", str(scenario_file), "--http", stack.http, "--loop", stack.loop]

        port = free_port()
        otpsim = Server("otpsim", serve(port), port, work, scenario.expect_status, scenario.expect_body)
        status, headers, body = start(otpsim)
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        answer = FirstAnswer(status, content_type, body)
        answer_file = work / f"{scenario.name}.answer"
        answer_file.write_bytes(body)

        port = free_port()
        bare_argv = [sys.executable, str(HERE / "bare.py"), "--port", str(port), "--method", scenario.method,
                     "--path", scenario.path, "--status", str(status), "--body-file", str(answer_file),
                     "--http", stack.http, "--loop", stack.loop]
        if content_type:
            bare_argv += ["--content-type", content_type]
        bare = Server("bare", bare_argv, port, work, scenario.expect_status, scenario.expect_body)
        start(bare)
        servers = {"bare": bare, "otpsim": otpsim}

        for workers in args.shared if redis else ():
            port, label = free_port(), f"otpsim redis x{workers}"
            argv = [*serve(port), "--store", redis.url, "--store-prefix", f"bench-{scenario.name}-{workers}"]
            if workers > 1:
                argv += ["--workers", str(workers)]
            servers[label] = Server(label, argv, port, work, scenario.expect_status, scenario.expect_body, store=redis)
            start(servers[label])

        for peer, tool in tools.items():
            try:
                peers = peer_servers(peer, tool, scenario, operation, answer, answer_file, work)
            except (subprocess.SubprocessError, OSError) as problem:   # e.g. Mockoon's schema builders changed
                print(f"  no {peer} rows: could not set it up: {problem}", flush=True)
                continue
            for label, server in peers.items():
                try:
                    start(server)
                    servers[label] = server
                except WrongAnswer as refusal:
                    print(f"  no {label} row: {refusal}", flush=True)

        labels = list(servers)
        warmups = {}
        for label in labels:
            warmups[label] = warm(scenario, servers[label], args, numbers)
        rounds = {label: [] for label in labels}
        for index in range(args.rounds):
            shift = index % len(labels)  # each server goes first in turn
            for label in labels[shift:] + labels[:shift]:
                rounds[label].append(wrk(scenario, servers[label], args.seconds, args, numbers.run_base()))
        return {label: summarise(rounds[label], rounds, warmups[label], server)
                for label, server in servers.items()}


def summarise(rounds: list[dict], every: dict, warmups: list[dict], server: Server) -> dict:
    def ratio_to(label: str) -> float | None:
        # each round against the other's round next to it: both saw the same machine
        if label not in every:
            return None
        return statistics.median(r["rps"] / other["rps"] for r, other in zip(rounds, every[label]))

    answered = sum(r["requests"] for r in rounds)
    return {
        "rps": statistics.median(r["rps"] for r in rounds),
        "ratio": ratio_to("bare"),
        "ratio_wiremock": ratio_to("wiremock"),
        "ratio_otpsim": ratio_to("otpsim"),
        "answers": f"{server.expect_status}" + ("" if server.expect_body is not None else ", body unchecked"),
        "p50_ms": statistics.median(r["p50_us"] for r in rounds) / 1000,
        "p99_ms": statistics.median(r["p99_us"] for r in rounds) / 1000,
        "cpu_percent": statistics.median(r["cpu_percent"] for r in rounds),
        # over every measured round: the server's processes and, on Redis, redis-server's
        "cpu_us_per_request": 1e6 * sum(r["cpu_s"] + r["store_cpu_s"] for r in rounds) / max(answered, 1),
        "store_cpu_s": sum(r["store_cpu_s"] for r in rounds) if server.store else None,
        "cold_rps": warmups[0]["rps"],
        "warmups": len(warmups),
        "ready_s": server.ready_s,
        "ready_rss_mb": server.ready_rss_mb,
        "rss_mb": server.rss_mb(),
        "served": sum(r["requests"] for r in warmups + rounds),
        "wrong": sum(r["wrong"] for r in rounds),
        "socket_errors": sum(r["socket_errors"] for r in rounds),
        "first_wrong": next((r["first_wrong"] for r in rounds if r["first_wrong"]), ""),
    }


def machine_line(stack) -> str:
    import uvicorn
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split(" [")[0]
    load = os.getloadavg()[0]
    return (f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; nproc {os.cpu_count()}; "
            f"Python {platform.python_version()}; uvicorn {uvicorn.__version__} ({stack.http}, {stack.loop}); "
            f"{wrk_version}; load average {load:.1f} before the run")


def table(results: dict, args) -> str:
    lines = [
        f"{args.rounds} rounds × {args.seconds} s per server after warming it up in {args.warmup} s runs until "
        f"its throughput stopped rising; wrk {args.connections} connections, {args.threads} thread(s), keep-alive; "
        "medians over rounds; ratios taken round by round; CPU 100% = one core (the server's processes); "
        "CPU µs/req and redis CPU s over all its measured rounds, redis-server's CPU counted into the rows on Redis",
        "",
        "| scenario | server | requests/s | × bare | × wiremock | p50 ms | p99 ms | CPU % | CPU µs/req | redis CPU s "
        "| ready s | RSS ready MB | peak RSS MB | cold req/s | warm-ups | served |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, result in results.items():
        for label, row in result.items():
            server = label if row["answers"] == result["bare"]["answers"] else f"{label} (answers {row['answers']})"
            vs_wiremock = f"{row['ratio_wiremock']:.2f}" if row["ratio_wiremock"] is not None else "–"
            redis_cpu = f"{row['store_cpu_s']:.2f}" if row["store_cpu_s"] is not None else "–"
            lines.append(f"| {name} | {server} | {row['rps']:.0f} | {row['ratio']:.2f} | {vs_wiremock} | "
                         f"{row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['cpu_percent']:.0f} | "
                         f"{row['cpu_us_per_request']:.0f} | {redis_cpu} | {row['ready_s']:.2f} | "
                         f"{row['ready_rss_mb']:.0f} | {row['rss_mb']:.0f} | {row['cold_rps']:.0f} | {row['warmups']} | "
                         f"{row['served']} |")
    return "\n".join(lines)


def shared_store_cost(results: dict) -> list[str]:
    """What the world in Redis costs per request, one worker against the world in memory."""
    lines = []
    for name, result in results.items():
        on_redis = result.get("otpsim redis x1")
        if on_redis is None:
            continue
        extra = on_redis["cpu_us_per_request"] - result["otpsim"]["cpu_us_per_request"]
        lines.append(f"{name} shared store cost: {extra:+.0f} µs CPU per request (1 worker on Redis vs in memory, "
                     f"redis-server's CPU included), throughput {on_redis['ratio_otpsim']:.2f}x")
    return lines


LIMITS = (("p99 <= 10 ms", "p99_ms", 10), ("ready <= 0.5 s", "ready_s", 0.5), ("peak RSS <= 80 MB", "rss_mb", 80))
# issue 19: these scenarios at half of warm WireMock with its journal on, one worker
HALF_WIREMOCK = ("voice-callverify", "osm-send", "cams-getcode")


def target_report(results: dict, served: dict) -> list[str]:
    """The targets, which are set for the full voice path; then the same limits over every scenario."""
    lines = []
    for name in HALF_WIREMOCK:
        result = results.get(name)
        lines.append(wiremock_target(f"{name} otpsim >= 0.5x wiremock (journal on)",
                                     result and result["otpsim"], "not run", 0.5))
    voice = results.get("voice-callverify")
    if voice is None:
        why = "not run" if "voice.CallVerify" in served else "voice.CallVerify is not served by this checkout"
        lines.append(f"voice-callverify targets: not measured ({why})")
    else:
        otpsim = voice["otpsim"]
        if "prism" not in voice:
            lines.append("voice-callverify otpsim >= 5x prism: not measured (no Prism rows)")
        else:
            times = {label: otpsim["ratio"] / voice[label]["ratio"] for label in PRISM_VARIANTS if label in voice}
            others = "".join(f"; {value:.1f}x {label}" for label, value in times.items() if label != "prism")
            lines.append(f"voice-callverify otpsim >= 5x prism: {verdict(times['prism'] >= 5)} "
                         f"({times['prism']:.1f}x prism as started by default{others})")
        for text, key, limit in LIMITS:
            lines.append(f"voice-callverify {text}: {verdict(otpsim[key] <= limit)} ({otpsim[key]:.2f})")
        lines.append(wiremock_target("voice-callverify two workers on the shared store >= warm wiremock (journal on)",
                                     voice.get("otpsim redis x2"), "no otpsim redis x2 row", 1))
    rows = {name: result["otpsim"] for name, result in results.items()}
    for text, key, limit in LIMITS:
        worst = max(rows, key=lambda name: rows[name][key])
        lines.append(f"every scenario {text}: {verdict(rows[worst][key] <= limit)} (worst {rows[worst][key]:.2f}, {worst})")
    return lines


def wiremock_target(text: str, row: dict | None, missing: str, least: float) -> str:
    """`text`, met or missed by the row's ratio to warm WireMock (journal on) in the same rounds."""
    if row is None:
        return f"{text}: not measured ({missing})"
    ratio = row["ratio_wiremock"]
    if ratio is None:
        return f"{text}: not measured (no WireMock rows)"
    return f"{text}: {verdict(ratio >= least)} ({ratio:.2f})"


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def peer_list(text: str) -> list[str]:
    chosen = [name for name in text.split(",") if name and name != "none"]
    unknown = [name for name in chosen if name not in PEERS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown peer {', '.join(unknown)} (known: {', '.join(PEERS)}, none)")
    return chosen


def worker_counts(text: str) -> list[int]:
    if text == "none":
        return []
    try:
        counts = [int(count) for count in text.split(",") if count]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of worker counts: {text}") from None
    if any(count < 1 for count in counts):
        raise argparse.ArgumentTypeError(f"worker counts start at 1: {text}")
    return counts


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--rounds", type=int, default=5, help="alternating rounds per server (default 5)")
    options.add_argument("--seconds", type=int, default=3, help="seconds of load per round (default 3)")
    options.add_argument("--warmup", type=int, default=2, help="seconds of each unmeasured warm-up run (default 2)")
    options.add_argument("--max-warmups", type=int, default=15,
                         help="most warm-up runs per server, if its throughput keeps rising (default 15)")
    options.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    options.add_argument("--threads", type=int, default=1,
                         help="wrk threads (default 1: the other core is the server's)")
    options.add_argument("--peers", type=peer_list, default=list(PEERS), metavar="LIST",
                         help=f"peers beside otpsim and the bare app, comma-separated, or none (default "
                              f"{','.join(PEERS)}); each installed on first use into {CACHE}")
    options.add_argument("--shared", type=worker_counts, default=[1, 2, 4], metavar="LIST",
                         help="a row `otpsim redis xN` for each N, comma-separated, or none (default 1,2,4): "
                              "otpsim serving N workers from a world in Redis, one redis-server for the run")
    options.add_argument("--http", default="auto", help="HTTP parser of otpsim and the bare app (default auto)")
    options.add_argument("--loop", default="auto", help="event loop of otpsim and the bare app (default auto)")
    options.add_argument("--only", action="append", metavar="SCENARIO",
                         choices=[s.name for s in SCENARIOS], help="run only this scenario (repeatable)")
    args = options.parse_args()
    try:
        stack = server_stack(args.http, args.loop)
    except ValueError as problem:
        options.error(str(problem))

    ensure_wrk()
    tools = ensure_peers(args.peers)
    redis_server = ensure_redis() if args.shared else None
    if args.shared and not redis_server:
        print("no otpsim redis rows", flush=True)
    compile_package()
    served = served_operations()   # also fills the start-up cache, as any earlier start would have
    chosen = [s for s in SCENARIOS if not args.only or s.name in args.only]
    runnable = [s for s in chosen if s.operation in served]
    for skipped in (s for s in chosen if s.operation not in served):
        print(f"skipped {skipped.name}: {skipped.operation} is not served by this checkout")
    print(machine_line(stack), flush=True)

    results, numbers = {}, Numbers()
    with ExitStack() as running, tempfile.TemporaryDirectory(prefix="otpsim-bench-") as scratch:
        redis = running.enter_context(running_redis(redis_server, free_port())) if redis_server else None
        work = Path(scratch)
        scenario_file = bench_scenario_file(runnable, work)
        create_simulator([scenario_file])   # its checked verdict in the start-up cache, as an earlier start leaves it
        for scenario in runnable:
            print(f"{scenario.name} ...", flush=True)
            results[scenario.name] = bench_one(scenario, served[scenario.operation], args, scenario_file, numbers,
                                               work, tools, stack, redis)

    print()
    print(table(results, args))
    print()
    for line in shared_store_cost(results):
        print(line)
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
