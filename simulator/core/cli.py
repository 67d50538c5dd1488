"""`otpsim serve` and `otpsim check`."""

import argparse
import gc
import logging
import sys
import tempfile
from pathlib import Path

from .. import __version__
from .scenario import ScenarioError, merge_documents, parse_scenario

DEFAULT_SCENARIO = "default.yaml"


def scenario_dir() -> Path:
    checkout = Path(__file__).resolve().parents[2] / "scenarios"
    if checkout.is_dir():
        return checkout
    from importlib import resources
    return Path(str(resources.files("simulator") / "scenarios"))


def load_scenario(files: list[str], products):
    """The default scenario when no file is named, else the named files merged in order."""
    paths = [Path(f) for f in files] or [scenario_dir() / DEFAULT_SCENARIO]
    texts = [(str(p), p.read_text(encoding="utf-8")) for p in paths]
    scenarios = [parse_scenario(text, products, source=name) for name, text in texts]
    if len(scenarios) == 1:
        return scenarios[0]
    return parse_scenario_document(merge_documents([s.document for s in scenarios]), products)


def parse_scenario_document(document: dict, products):
    import json
    return parse_scenario(json.dumps(document), products, source="merged scenarios")


def create_simulator(scenario_files=(), seed: int | None = None, **options):
    from .app import Simulator
    from .spec import load_products

    products = load_products()
    scenario = load_scenario(list(scenario_files), products)
    if seed is None:
        seed = scenario.seed if scenario.seed is not None else 0
    return Simulator(scenario=scenario, seed=seed, products=products, **options)


def _serve(args) -> int:
    import uvicorn

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("otpsim").setLevel(logging.INFO if not args.quiet else logging.WARNING)
    try:
        sim = create_simulator(args.scenario, args.seed, journal_capacity=args.journal_capacity,
                               outbox_capacity=args.outbox_capacity, max_body=args.max_body)
    except (ScenarioError, OSError) as problem:
        print(f"otpsim: {problem}", file=sys.stderr)
        return 2
    ssl = {}
    scheme = "http"
    if args.tls:
        from .tls import make_certificates
        directory = Path(args.tls_dir or tempfile.mkdtemp(prefix="otpsim-tls-"))
        paths = make_certificates(directory)
        ssl = {"ssl_certfile": str(paths["cert"]), "ssl_keyfile": str(paths["key"])}
        scheme = "https"
        print(f"otpsim: CA certificate for clients to trust: {paths['ca']}", flush=True)
    print(f"otpsim {__version__} serving {scheme}://{args.host}:{args.port} "
          f"(products: {', '.join(sorted(sim.products))}; scenario: {sim.world.scenario.name}; "
          f"seed: {sim.world.seed})", flush=True)
    # What start-up built (specs, compiled validators, modules) lives as long as the server: out of
    # the collector's generations, full collections walk only per-request state (p99 42 -> 11 ms).
    gc.collect()
    gc.freeze()
    # A full collection still walks every live code, nonce and journal entry (30-45 ms under load);
    # run one after 100 middle-generation collections instead of 10 (voice p99 29-51 -> 10-14 ms).
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 100)
    uvicorn.run(sim, host=args.host, port=args.port, log_level="warning", access_log=False,
                lifespan="on", **ssl)
    return 0


def _check(args) -> int:
    from .spec import load_products

    products = load_products()
    failed = False
    for name in args.files:
        try:
            parse_scenario(Path(name).read_text(encoding="utf-8"), products, source=name)
            print(f"{name}: ok")
        except OSError as problem:
            print(f"{name}: {problem.strerror}", file=sys.stderr)
            failed = True
        except ScenarioError as problem:
            for line in problem.problems:
                print(line, file=sys.stderr)
            failed = True
    return 1 if failed else 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="otpsim",
        description="A high-fidelity simulator of Huawei Cloud and Alibaba Cloud verification-code APIs.",
    )
    top.add_argument("--version", action="version", version=f"otpsim {__version__}")
    commands = top.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve every product on one base URL",
                                description="Serve every simulated product on one base URL.")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    serve.add_argument("--scenario", action="append", default=[], metavar="FILE",
                       help="scenario file (YAML or JSON); repeat to merge several in order "
                            "(default: the packaged scenarios/default.yaml)")
    serve.add_argument("--seed", type=int, default=None,
                       help="seed for codes, ids and fault decisions (default: the scenario's seed, else 0)")
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

    check = commands.add_parser("check", help="validate scenario files",
                                description="Validate scenario files; every problem is reported as file:line:column.")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(run=_check)
    return top


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
