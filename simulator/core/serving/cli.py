"""`otpsim serve`, `otpsim check` and the scenario helpers `schema` and `catalogue-scenario`."""

import argparse
import asyncio
import ipaddress
import json
import os
import signal
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from simulator import __version__
from simulator.core.compose import build_parts, standard_parts
from simulator.core.errors import SpecError
from simulator.core.scenario_format import ScenarioError
from simulator.core.serving import collector
from simulator.core.serving.server import LOOPS, PARSERS
from simulator.core.serving.workers import run_workers
from simulator.core.world.store import StoreUnavailable

SECTIONS = ("headers", "query", "body")


def _parts(args):
    """The packaged products, plus those of each --products folder."""
    return build_parts(args.products) if args.products else standard_parts()


def _serve(args) -> int:
    from simulator.core.compose import read_scenario, simulator_from_texts
    from simulator.core.serving import logs
    from simulator.core.serving.admin import AdminSettings
    from simulator.core.serving.server import listening_socket, server_stack

    try:
        stack = server_stack(args.http, args.loop)
    except ValueError as problem:
        print(f"otpsim: {problem}", file=sys.stderr)
        return 2
    logs.configure(per_request=not args.quiet)
    if args.workers > 1 and not args.store:
        print(f"otpsim: --workers {args.workers} needs --store redis://HOST:PORT/DB: workers form one world only "
              "through a shared store; without one each would keep its own codes, limits and clock", file=sys.stderr)
        return 2
    try:
        backend = _backend(args)
    except (ImportError, StoreUnavailable) as problem:
        print(f"otpsim: --store: {problem}", file=sys.stderr)
        return 2
    try:
        sources = [read_scenario(name) for name in args.scenario]
        sim = simulator_from_texts(sources, args.seed, journal_capacity=args.journal_capacity,
                                   outbox_capacity=args.outbox_capacity, max_body=args.max_body,
                                   listeners={port: name for name, port in args.listen}, parts=_parts(args),
                                   admin=AdminSettings(token=args.admin_token, max_body=args.admin_max_body),
                                   backend=backend)
    except ValueError as problem:
        print(f"otpsim: --listen: {problem}", file=sys.stderr)
        return 2
    except ScenarioError as problem:
        print("otpsim: scenario refused:", *problem.problems, sep="\n", file=sys.stderr)
        return 2
    except OSError as problem:
        print(f"otpsim: {problem}", file=sys.stderr)
        return 2
    with ExitStack() as cleanup:
        sockets = []
        try:   # bound before the banner: a busy port is reported, and port 0 becomes a real one
            for port in (args.port, *(port for _, port in args.listen)):
                sockets.append(cleanup.enter_context(listening_socket(args.host, port)))
        except OSError as problem:
            print(f"otpsim: cannot listen on {args.host}:{port}: {problem.strerror or problem}", file=sys.stderr)
            return 2
        # Ctrl-C or SIGTERM from here on ends in a normal exit, so the cleanup always runs
        # (uvicorn stops gracefully on either, then raises the signal again)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            _run(args, sim, stack, sockets, cleanup)
        except KeyboardInterrupt:
            pass
    return 0
def _run(args, sim, stack, sockets: list, cleanup: ExitStack):
    """Serve `sim` on `stack` and `sockets` until stopped; what needs removing on exit goes on `cleanup`."""
    from simulator.core.serving.server import Server, server_config

    ssl = {}
    scheme = "http"
    if args.tls:
        from simulator.core.serving.tls import make_certificates
        if args.tls_dir:
            directory = Path(args.tls_dir)
        else:   # removed on exit, Ctrl-C and SIGTERM included: it holds a private key
            directory = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="otpsim-tls-")))
        paths = make_certificates(directory)
        ssl = {"ssl_certfile": str(paths["cert"]), "ssl_keyfile": str(paths["key"])}
        scheme = "https"
        print(f"otpsim: CA certificate for clients to trust: {paths['ca']}", flush=True)
    port = sockets[0].getsockname()[1]
    print(f"otpsim {__version__} serving {scheme}://{_url_host(args.host)}:{port} "
          f"(products: {', '.join(sorted(sim.products))}; scenario: {sim.world.scenario.name}; "
          f"seed: {sim.world.seed}; server: {stack})", flush=True)
    for name, extra in args.listen:
        print(f"otpsim: {scheme}://{_url_host(args.host)}:{extra} serves {name}", flush=True)
    page_host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
    print(f"otpsim: the page (outbox, calls, journal, clock, scenario): {scheme}://{_url_host(page_host)}:{port}/__otpsim/",
          flush=True)
    if not args.admin_token and not _loopback(args.host):
        print(f"otpsim: warning: {args.host} is reachable beyond this machine and the admin API "
              "(/__otpsim) has no token; set --admin-token or OTPSIM_ADMIN_TOKEN", file=sys.stderr, flush=True)
    collector.settle()
    config = server_config(sim, args.host, port, stack, read_timeout_s=args.read_timeout, **ssl)
    if args.store:
        print(f"otpsim: the world is in {sim.world.backend.where} (prefix {args.store_prefix}), shared by every otpsim "
              f"serving it; workers: {args.workers}", flush=True)
    if args.workers > 1:
        run_workers(lambda: Server(config, collector.YoungCollections()).run(sockets=sockets), args.workers)
    else:
        Server(config, collector.YoungCollections()).run(sockets=sockets)


def _backend(args):
    """The shared world's backend for --store, once its Redis answers; None without --store."""
    if not args.store:
        return None
    try:
        from simulator.core.world.redis_backend import RedisBackend
        from simulator.core.world.redis_store import answers, client_for
    except ImportError as missing:
        raise ImportError(f"needs redis-py ({missing.name} is missing): pip install 'otpsim[shared]'") from None

    async def check():
        client = client_for(args.store)
        try:
            await answers(client, args.store)
        finally:
            await client.aclose()
    asyncio.run(check())
    return RedisBackend(args.store, args.store_prefix)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _listener(text: str) -> tuple[str, int]:
    name, sep, port = text.partition("=")
    if not sep or not name or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not PRODUCT=PORT (e.g. dypns=8081)")
    return name, int(port)


def _check(args) -> int:
    scenario_format = _parts(args).scenario_format
    failed = False
    for name in args.files:
        try:
            _, warnings = scenario_format.check(Path(name).read_text(encoding="utf-8"), source=name)
            for warning in warnings:
                print(f"{warning} (warning)", file=sys.stderr)
            print(f"{name}: ok" + (f", {len(warnings)} warning{'s' if len(warnings) > 1 else ''}" if warnings else ""))
        except OSError as problem:
            print(f"{name}: {problem.strerror}", file=sys.stderr)
            failed = True
        except ScenarioError as problem:
            for line in problem.problems:
                print(line, file=sys.stderr)
            failed = True
    return 1 if failed else 0


def _schema(args) -> int:
    print(json.dumps(_parts(args).scenario_format.schema, indent=1, ensure_ascii=False))
    return 0


def _catalogue_scenario(args) -> int:
    import yaml

    parts = _parts(args)
    products = parts.products
    operation = next((op for p in products.values() for op in p.operations if op.qualified == args.operation), None)
    section, _, field = args.field.partition(".")
    if operation is None or section not in SECTIONS or not field:
        print(f"otpsim: need a known operation and a field as {'|'.join(SECTIONS)}.NAME", file=sys.stderr)
        return 2
    product = operation.product
    header = {
        "name": f"errors-{product.name}",
        "description": f"every code of the {product.name} catalogue: {operation.qualified} answers with the code "
                       f"that {args.field} carries",
    }
    rules = [{"name": key, "match": {"operation": operation.qualified, section: {field: key}}, "error": key}
             for key in product.catalogue]
    one_line = {"default_flow_style": True, "width": 1 << 16, "allow_unicode": True, "sort_keys": False}
    text = "".join([
        f"# Made by: otpsim catalogue-scenario {args.operation} {args.field}\n",
        yaml.safe_dump(header, sort_keys=False, allow_unicode=True, width=120),
        "rules:\n",
        *(f"  - {yaml.safe_dump(rule, **one_line).strip()}\n" for rule in rules),
    ])
    try:
        parts.scenario_format.load(text, source="generated")
    except ScenarioError as problem:
        print("otpsim:", *problem.problems, sep="\n", file=sys.stderr)
        return 1
    print(text, end="")
    return 0


def _report(args) -> int:
    import httpx

    from simulator.core.report.text import render

    params = {}
    for item in args.set:
        name, equals, value = item.partition("=")
        if not equals:
            print(f"otpsim: --set needs NAME=VALUE, got {item!r}", file=sys.stderr)
            return 2
        params[name.strip()] = value.strip()
    headers = {"Authorization": f"Bearer {args.admin_token}"} if args.admin_token else {}
    url = args.url.rstrip("/") + "/__otpsim/report"
    try:
        response = httpx.get(url, params=params, headers=headers, timeout=30, verify=args.cafile or True, trust_env=False)
    except httpx.HTTPError as problem:
        print(f"otpsim: {url} is not reachable: {problem}", file=sys.stderr)
        return 2
    if response.status_code != 200:
        print(f"otpsim: {url} answered {response.status_code}: {response.text}", file=sys.stderr)
        return 2
    report = response.json()
    print(json.dumps(report, indent=1, ensure_ascii=False) if args.json else render(report), end="" if not args.json else "\n")
    return 1 if args.fail_on_findings and report["findings"] else 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="otpsim",
        description="A high-fidelity simulator of Huawei Cloud and Alibaba Cloud verification-code APIs.",
    )
    top.add_argument("--version", action="version", version=f"otpsim {__version__}")
    commands = top.add_subparsers(dest="command", required=True)
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--products", action="append", default=[], metavar="DIR",
                       help="a folder of more products, each a spec (NAME.yaml) and a module (NAME.py), served beside "
                            "the packaged ones; repeat for several (docs/architecture.md, Adding a product)")

    serve = commands.add_parser("serve", help="serve every product on one base URL", parents=[extra],
                                description="Serve every simulated product on one base URL.")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8080, help="port to listen on, 0 for any free one (default 8080)")
    serve.add_argument("--scenario", action="append", default=[], metavar="FILE",
                       help="scenario file (YAML or JSON) or a packaged scenario's name (e.g. recipes/first-two-fail); "
                            "repeat to merge several in order, over the packaged scenarios/default.yaml (docs/scenarios.md)")
    serve.add_argument("--listen", action="append", default=[], type=_listener, metavar="PRODUCT=PORT",
                       help="also listen on PORT, where every request names PRODUCT (for products sharing a path, "
                            "e.g. dysms and dypns on POST /: point each SDK at its own port); repeatable")
    serve.add_argument("--seed", type=_count(-(1 << 63), (1 << 63) - 1), default=None,
                       help="seed for codes, ids, fault decisions and delays (default: the scenario's seed, else 0)")
    serve.add_argument("--tls", action="store_true",
                       help="serve HTTPS with a certificate for localhost/127.0.0.1 made at start-up; "
                            "prints the CA file clients should trust")
    serve.add_argument("--tls-dir", metavar="DIR",
                       help="where --tls writes ca.pem, cert.pem, key.pem (default: a new temp dir, removed on exit)")
    serve.add_argument("--journal-capacity", type=_count(1), default=10_000, metavar="N",
                       help="newest requests the journal keeps (default 10000)")
    serve.add_argument("--outbox-capacity", type=_count(1), default=10_000, metavar="N",
                       help="newest messages the outbox keeps (default 10000)")
    serve.add_argument("--max-body", type=_count(1), default=1 << 20, metavar="BYTES",
                       help="largest request body accepted; larger ones get the product's documented error (default 1 MiB)")
    serve.add_argument("--admin-token", metavar="TOKEN",
                       help="every /__otpsim call must then carry it (Authorization: Bearer TOKEN, or the cookie "
                            "otpsim_admin_token); the vendor routes never need it. Set it whenever otpsim listens "
                            "beyond loopback")
    serve.add_argument("--admin-max-body", type=_count(1), default=1 << 20, metavar="BYTES",
                       help="largest admin request body, e.g. a scenario PUT; larger ones get 413 (default 1 MiB)")
    serve.add_argument("--read-timeout", type=_seconds, default=15.0, metavar="SECONDS",
                       help="a request's head, then its body, must arrive within this, else the connection is "
                            "closed (default 15)")
    serve.add_argument("--quiet", action="store_true", help="no log line per request")
    serve.add_argument("--store", metavar="URL",
                       help="keep the world in Redis or Valkey (redis://HOST:PORT/DB, rediss://…): every otpsim on "
                            "it, on this host or others, is one world (codes, limits, clock, outbox, calls, scenario)")
    serve.add_argument("--store-prefix", default="otpsim", metavar="NAME",
                       help="the world's name in the store, so one Redis holds several (default otpsim)")
    serve.add_argument("--workers", type=_count(1, 64), default=1, metavar="N",
                       help="serve from N processes (needs --store; default 1)")
    serve.add_argument("--http", default="auto", choices=("auto", *PARSERS),
                       help="HTTP parser: httptools (fast, C) or h11 (pure Python); default auto, httptools where "
                            "installed")
    serve.add_argument("--loop", default="auto", choices=("auto", *LOOPS),
                       help="event loop: uvloop (fast) or asyncio; default auto, uvloop where installed")
    serve.set_defaults(run=_serve)

    check = commands.add_parser("check", help="validate scenario files", parents=[extra],
                                description="Validate scenario files; every problem is reported as file:line:column.")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(run=_check)

    schema = commands.add_parser("schema", help="print the scenario JSON Schema", parents=[extra],
                                 description="Print the complete JSON Schema of scenario files for the loaded "
                                             "products (for editors and other tools).")
    schema.set_defaults(run=_schema)

    catalogue = commands.add_parser(
        "catalogue-scenario", help="print a scenario that makes every catalogue code reachable", parents=[extra],
        description="Print a scenario with one rule per code of OPERATION's product catalogue: a request to "
                    "OPERATION whose FIELD carries a code is answered with that code.")
    catalogue.add_argument("operation", metavar="OPERATION", help="e.g. osm.SendVerifyCodes")
    catalogue.add_argument("field", metavar="FIELD", help="headers.NAME, query.NAME or body.PATH (dotted), "
                                                          "e.g. body.contact_value")
    catalogue.set_defaults(run=_catalogue_scenario)

    report = commands.add_parser(
        "report", help="print the client report of a running otpsim",
        description="Print which documented failures the client under test met and how it behaved "
                    "(GET /__otpsim/report, docs/report.md).")
    report.add_argument("--url", default="http://127.0.0.1:8080", help="the otpsim's base URL (default http://127.0.0.1:8080)")
    report.add_argument("--json", action="store_true", help="print the JSON instead of the table")
    report.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a report threshold, e.g. --set slow_receiver_ms=500 (repeat; docs/report.md)")
    report.add_argument("--admin-token", metavar="TOKEN",
                        help="admin token, sent as Authorization: Bearer")
    report.add_argument("--cafile", metavar="FILE", help="CA file to trust for an https URL (the one --tls printed)")
    report.add_argument("--fail-on-findings", action="store_true", help="exit 1 when there is any finding (for CI)")
    report.set_defaults(run=_report)
    return top


def _count(low: int, high: int | None = None):
    def whole(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} is out of range ({low} to {high if high is not None else 'any'})")
        return value
    whole.__name__ = "number"
    return whole


_port = _count(0, 65535)
_port.__name__ = "port"


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text} is out of range (more than 0, at most 3600)")
    return value


ENVIRONMENT_PREFIX = "OTPSIM_"


def _defaults_from_environment(command: argparse.ArgumentParser):
    """OTPSIM_<OPTION> (e.g. OTPSIM_PORT, OTPSIM_ADMIN_TOKEN) sets an option's default, for every
    command, as a container user expects; a flag takes 1/true/yes, a repeatable option a list separated by os.pathsep.
    The command line still wins."""
    for action in command._actions:
        if not action.option_strings or action.dest == "help":
            continue
        name = ENVIRONMENT_PREFIX + action.dest.upper()
        if f"env {name}" not in (action.help or ""):   # an action shared by several commands (--products) once
            action.help = f"{action.help}; env {name}" if action.help else f"env {name}"
        if name not in os.environ:
            continue
        text = os.environ[name]
        try:
            if isinstance(action, argparse._StoreTrueAction):
                if text.lower() not in ("1", "true", "yes", "0", "false", "no", ""):
                    raise argparse.ArgumentTypeError(f"{text!r} is not 1/true/yes or 0/false/no")
                action.default = text.lower() in ("1", "true", "yes")
            elif isinstance(action, argparse._AppendAction):
                action.default = [action.type(part) if action.type else part for part in text.split(os.pathsep) if part]
            else:
                action.default = action.type(text) if action.type else text
        except argparse.ArgumentTypeError as problem:
            command.error(f"environment {name}: {problem}")


def main(argv=None) -> int:
    top = parser()
    for command in top._subparsers._group_actions[0].choices.values():
        _defaults_from_environment(command)
    args = top.parse_args(argv)
    try:
        return args.run(args)
    except SpecError as problem:   # a spec, module or scheme that does not fit (core/wiring.py)
        print(f"otpsim: refused at start-up: {problem}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (`otpsim schema | head`): nothing more to say, and no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
