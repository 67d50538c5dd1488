"""Data folders shipped with otpsim: from a source checkout, or the copies inside the installed distribution."""

from importlib import resources
from pathlib import Path


def packaged(folder: str) -> Path:
    """`openapi` or `scenarios`: the checkout's top-level folder when there is one, else the packaged copy
    (pyproject.toml installs them as simulator.openapi and simulator.scenarios)."""
    checkout = Path(__file__).resolve().parents[2] / folder
    if checkout.is_dir():
        return checkout
    return Path(str(resources.files("simulator") / folder))
