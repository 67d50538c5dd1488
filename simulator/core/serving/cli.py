"""`otpsim serve`, `otpsim check` and the scenario helpers `schema` and `catalogue-scenario`."""

import argparse
import gc
import json
import sys
import tempfile
from pathlib import Path

from simulator import __version__
from simulator.core.compose import build_parts, create_simulator, standard_parts
from simulator.core.errors import SpecError
from simulator.core.scenario_format import ScenarioError

SECTIONS = ("headers", "query", "body")


def _parts(args):
    """The packaged products, plus those of each --products folder."""
    return build_parts(args.products) if args.products else standard_parts()


def _serve(args) -> int:
    from simulator.core.serving import logs
    from simulator.core.serving.server import Server, listening_socket, server_config

    logs.configure(per_request=not args.quiet)
    try:
        sim = create_simulator(args.scenario, args.seed, journal_capacity=args.journal_capacity,
                               outbox_capacity=args.outbox_capacity, max_body=args.max_body,
                               listeners={port: name for name, port in args.listen}, parts=_parts(args))
    except ValueError as problem:
        print(f"otpsim: --listen: {problem}", file=sys.stderr)
        return 2
    except ScenarioError as problem:
        print("otpsim: scenario refused:", *problem.problems, sep="\n", file=sys.stderr)
        return 2
    except OSError as problem:
        print(f"otpsim: {problem}", file=sys.stderr)
        return 2
    ssl = {}
    scheme = "http"
    if args.tls:
        from simulator.core.serving.tls import make_certificates
        directory = Path(args.tls_dir or tempfile.mkdtemp(prefix="otpsim-tls-"))
        paths = make_certificates(directory)
        ssl = {"ssl_certfile": str(paths["cert"]), "ssl_keyfile": str(paths["key"])}
        scheme = "https"
        print(f"otpsim: CA certificate for clients to trust: {paths['ca']}", flush=True)
    config = server_config(sim, args.host, args.port, **ssl)
    try:
        sockets = [config.bind_socket()] + [listening_socket(args.host, port) for _, port in args.listen]
    except OSError as problem:
        print(f"otpsim: {problem}", file=sys.stderr)
        return 2
    print(f"otpsim {__version__} serving {scheme}://{args.host}:{args.port} "
          f"(products: {', '.join(sorted(sim.products))}; scenario: {sim.world.scenario.name}; "
          f"seed: {sim.world.seed})", flush=True)
    for name, port in args.listen:
        print(f"otpsim: {scheme}://{args.host}:{port} serves {name}", flush=True)
    page_host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
    page_host = f"[{page_host}]" if ":" in page_host else page_host
    print(f"otpsim: the page (outbox, calls, journal, clock, scenario): {scheme}://{page_host}:{args.port}/__otpsim/",
          flush=True)
    # start-up objects out of the collector's generations, full collections a tenth as often
    # (why: docs/performance.md, Shaped for speed)
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 100)
    Server(config).run(sockets=sockets)
    return 0


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
            scenario_format.load_file(name)
            print(f"{name}: ok")
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
    import os

    import httpx

    from simulator.core.report.text import render

    params = {}
    for item in args.set:
        name, equals, value = item.partition("=")
        if not equals:
            print(f"otpsim: --set needs NAME=VALUE, got {item!r}", file=sys.stderr)
            return 2
        params[name.strip()] = value.strip()
    token = args.admin_token or os.environ.get("OTPSIM_ADMIN_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
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
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    serve.add_argument("--scenario", action="append", default=[], metavar="FILE",
                       help="scenario file (YAML or JSON); repeat to merge several in order, "
                            "over the packaged scenarios/default.yaml (docs/scenarios.md)")
    serve.add_argument("--listen", action="append", default=[], type=_listener, metavar="PRODUCT=PORT",
                       help="also listen on PORT, where every request names PRODUCT (for products sharing a path, "
                            "e.g. dysms and dypns on POST /: point each SDK at its own port); repeatable")
    serve.add_argument("--seed", type=int, default=None,
                       help="seed for codes, ids, fault decisions and delays (default: the scenario's seed, else 0)")
    serve.add_argument("--tls", action="store_true",
                       help="serve HTTPS with a certificate for localhost/127.0.0.1 made at start-up; "
                            "prints the CA file clients should trust")
    serve.add_argument("--tls-dir", metavar="DIR", help="where --tls writes ca.pem, cert.pem, key.pem (default: a new temp dir)")
    serve.add_argument("--journal-capacity", type=int, default=10_000, metavar="N",
                       help="newest requests the journal keeps (default 10000)")
    serve.add_argument("--outbox-capacity", type=int, default=10_000, metavar="N",
                       help="newest messages the outbox keeps (default 10000)")
    serve.add_argument("--max-body", type=int, default=1 << 20, metavar="BYTES",
                       help="largest request body accepted; larger ones get the product's documented error (default 1 MiB)")
    serve.add_argument("--quiet", action="store_true", help="no log line per request")
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
                        help="admin token, sent as Authorization: Bearer (default: $OTPSIM_ADMIN_TOKEN)")
    report.add_argument("--cafile", metavar="FILE", help="CA file to trust for an https URL (the one --tls printed)")
    report.add_argument("--fail-on-findings", action="store_true", help="exit 1 when there is any finding (for CI)")
    report.set_defaults(run=_report)
    return top


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except SpecError as problem:   # a spec, module or scheme that does not fit (core/wiring.py)
        print(f"otpsim: refused at start-up: {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
