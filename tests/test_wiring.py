"""What each product module and auth scheme declares it needs from a spec (checked at start-up) covers
what its code raises and reads: every `SimError("KEY")` and `settings["name"]` written in it."""

import ast
import importlib
from pathlib import Path

import pytest

from simulator.core.compose import standard_parts
from simulator.core.product import ProductModule

ROOT = Path(__file__).resolve().parents[1] / "simulator"
MODULES = sorted(p for folder in ("products", "auth") for p in (ROOT / folder).glob("*.py")
                 if not p.name.startswith("_"))


def written(path: Path) -> tuple[set, set]:
    """The catalogue keys of SimError("...") and the names of settings["..."] literally in a module."""
    errors, settings = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "SimError" and node.args
                and isinstance(node.args[0], ast.Constant)):
            errors.add(node.args[0].value)
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and (
                getattr(node.value, "attr", None) == "settings" or getattr(node.value, "id", None) == "settings"):
            settings.add(node.slice.value)
    return errors, settings


def declared(path: Path):
    module = importlib.import_module(f"simulator.{path.parent.name}.{path.stem}")
    needs = [value.needs for value in vars(module).values() if isinstance(value, ProductModule)]
    needs += [scheme.needs for scheme in standard_parts().contributions.schemes.values()
              if scheme.check.__module__ == module.__name__]
    return needs


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_module_declares_every_error_and_setting_it_uses(path):
    errors, settings = written(path)
    needs = declared(path)
    if not needs:
        assert not errors and not settings, f"{path.name} uses {errors | settings} but registers nothing"
        return
    (need,) = needs
    assert errors <= set(need.errors), f"undeclared errors: {errors - set(need.errors)}"
    assert settings <= set(need.settings), f"undeclared settings: {settings - set(need.settings)}"


def test_the_packaged_products_are_wired_with_their_needs_checked():
    parts = standard_parts()
    assert set(parts.contributions.modules["osm"].needs.errors) == {"OSM.01010001", "OSM.01010010", "OSM.01010024"}
    assert "signature_skew_s" in parts.contributions.schemes["huawei-aksk"].needs.settings
