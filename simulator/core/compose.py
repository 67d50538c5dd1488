"""The composition root: a simulator assembled from the specs, the code's contributions and scenarios.

`otpsim serve`, `EmbeddedOtpsim`, the pytest fixtures, the benchmark and the tests all build
simulators here. What does not change between simulators (compiled specs, product modules, auth
schemes, the scenario format, the packaged default scenario) is built once per process.
"""

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from simulator.core.packaged import packaged

DEFAULT_SCENARIO = "default.yaml"


def read_scenario(source, base_dir: str | os.PathLike | None = None) -> tuple[str, str]:
    """(name, text) of a scenario given as a dict, a path, a packaged scenario's name or YAML text.

    A dict is the document; a `Path`, or a one-line str naming an existing file (relative to
    `base_dir`), is read; another one-line str names a packaged scenario (`default`); a str of
    several lines is YAML text.
    """
    if isinstance(source, dict):
        return "scenario dict", json.dumps(source)
    if isinstance(source, os.PathLike):
        return _read(Path(base_dir or ".", source))
    if not isinstance(source, str):
        raise TypeError(f"a scenario is a dict, a path or YAML text, not {type(source).__name__}")
    if "\n" in source:
        return "scenario text", source
    path = Path(base_dir or ".", source)
    if path.is_file():
        return _read(path)
    shipped = packaged("scenarios") / f"{source}.yaml"
    if shipped.is_file():
        return _read(shipped)
    root = packaged("scenarios")
    names = sorted(path.relative_to(root).with_suffix("").as_posix() for path in root.rglob("*.yaml"))
    raise FileNotFoundError(f"no scenario file {path} and no packaged scenario {source!r} "
                            f"(packaged: {', '.join(names)})")


def _read(path: Path) -> tuple[str, str]:
    return str(path), path.read_text(encoding="utf-8")


def scenario_document(sources, base_dir=None) -> dict:
    """One scenario document from sources (see read_scenario) merged in order, as `otpsim serve
    --scenario` merges files; each source's problems are reported with its own name and lines."""
    from simulator.core.pipeline.scenario import merge_documents

    scenario_format = standard_parts().scenario_format
    return merge_documents([scenario_format.load(text, name)
                            for name, text in (read_scenario(source, base_dir) for source in sources)])


@dataclass(frozen=True)
class Parts:
    """The read-only parts every simulator of this process shares."""
    products: dict          # name -> ProductSpec (openapi/)
    contributions: object   # Contributions: product modules, auth schemes, their declarations
    scenario_format: object  # ScenarioFormat for these products and declarations
    default_scenario: dict   # scenarios/default.yaml, validated


def build_parts(extra_dirs=()) -> Parts:
    """The packaged products plus those of each extra folder (its `*.yaml` specs and `*.py` modules),
    checked to fit together (core/wiring.py): a refusal is a SpecError naming the file and the clash."""
    from simulator.core.product import load_contributions
    from simulator.core.scenario_format import ScenarioFormat
    from simulator.core.spec import load_products, spec_dir
    from simulator.core.wiring import check_wiring

    products = load_products(spec_dir(), *extra_dirs)
    contributions = load_contributions(extra_dirs)
    check_wiring(products, contributions)
    scenario_format = ScenarioFormat(products, contributions)
    default = scenario_format.load_file(packaged("scenarios") / DEFAULT_SCENARIO)
    return Parts(products, contributions, scenario_format, default)


@cache
def standard_parts() -> Parts:
    """The packaged specs and scenarios, compiled once (compiling is most of a simulator's start-up)."""
    return build_parts()


@cache
def parts_with(extra_dirs: tuple = ()) -> Parts:
    """The packaged products and those of each folder (absolute paths), compiled once per process
    for each set of folders."""
    return build_parts(extra_dirs) if extra_dirs else standard_parts()


def create_simulator(scenario_files=(), seed: int | None = None, **options):
    """A simulator serving the scenario files merged in order over scenarios/default.yaml."""
    sources = [(str(name), Path(name).read_text(encoding="utf-8")) for name in scenario_files]
    return simulator_from_texts(sources, seed, **options)


def simulator_from_texts(sources, seed: int | None = None, parts: Parts | None = None, **options):
    """A simulator serving scenario (name, text) sources merged in order over scenarios/default.yaml;
    each source's problems are reported with its own name and lines (ScenarioError). `parts`
    (build_parts, parts_with) add products from other folders."""
    from simulator.core.pipeline.app import Simulator
    from simulator.core.pipeline.scenario import merge_documents

    parts = parts or standard_parts()
    documents = [parts.scenario_format.load(text, name) for name, text in sources]
    document = merge_documents(documents, base=parts.default_scenario)
    if seed is None:
        seed = document.get("seed", 0)
    return Simulator(parts, document, seed=seed, **options)
