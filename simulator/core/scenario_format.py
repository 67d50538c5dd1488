"""Scenario text read and validated: every problem reported as file:line:column.

Validation is against the schema scenario_schema.py builds; each schema error is put in the words
a scenario author uses and mapped back to the YAML node it concerns.
"""

import difflib
from dataclasses import dataclass
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from simulator.core.scenario_schema import build_schema

MERGE_TAG = "tag:yaml.org,2002:merge"


class ScenarioError(Exception):
    """`problems` as file:line:column lines; `located` the same as {line, column, path, message} (for editors)."""

    def __init__(self, problems: list[str], located: list[dict] | None = None):
        super().__init__("\n".join(problems))
        self.problems = problems
        self.located = located or []


@dataclass(order=True)
class Problem:
    line: int
    column: int
    path: str
    message: str

    def render(self, source: str) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{source}:{self.line}:{self.column}: {where}{self.message}"

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "path": self.path, "message": self.message}


def _path_text(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _entries(node):
    """(key node, value node) pairs of a mapping node, its own before those it merges in (`<<`)."""
    merged = []
    for key, value in node.value:
        if key.tag == MERGE_TAG:
            merged += value.value if isinstance(value, yaml.SequenceNode) else [value]
        else:
            yield key, value
    for source in merged:
        yield from _entries(source)


def _locate(node, path, at_key: bool):
    """The YAML node a JSON path points at (its key, for errors about a key); the nearest found."""
    for position, part in enumerate(path):
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in _entries(node) if k.value == str(part)), None)
            if found is None:
                break
            node = found[0] if at_key and position == len(path) - 1 else found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
    return node


def _suggest(word, candidates) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in candidates or ()], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _explain(error) -> list[tuple[list, str, bool]]:
    """(path, message, points at a key) for one schema error, in words a scenario author uses."""
    path, schema = list(error.absolute_path), error.schema
    if error.validator == "additionalProperties" and schema.get("additionalProperties") is False:
        known = schema.get("properties") or {}
        return [(path + [key], f"unknown key {key!r}{_suggest(key, known)}", True)
                for key in error.instance if key not in known]
    if len(error.schema_path) > 1 and error.schema_path[-2] == "propertyNames":
        what = schema.get("x-otpsim-what")
        message = (f"{error.instance!r} is not a known {what}{_suggest(error.instance, schema.get('x-otpsim-fields'))}"
                   if what else f"bad field name {error.instance!r}: a dotted path like a.b.c")
        return [(path + [error.instance], message, True)]
    if error.validator == "enum" and "x-otpsim-what" in schema:
        return [(path, f"{error.instance!r} is not a known {schema['x-otpsim-what']}"
                       f"{_suggest(error.instance, schema['enum'])}", False)]
    return [(path, schema.get("x-otpsim-message") or error.message, False)]


def _semantic_problems(document) -> list[tuple[list, str]]:
    """What JSON Schema cannot say: ordered pairs in delay distributions."""
    problems = []
    rules = document.get("rules") if isinstance(document, dict) else None
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        delay = rule.get("delay") if isinstance(rule, dict) else None
        if not isinstance(delay, dict):
            continue
        uniform, lognormal = delay.get("uniform"), delay.get("lognormal")
        if isinstance(uniform, list) and len(uniform) == 2 and all(isinstance(v, (int, float)) for v in uniform) \
                and uniform[0] > uniform[1]:
            problems.append((["rules", index, "delay", "uniform"], "uniform is [min, max]: min must not exceed max"))
        if isinstance(lognormal, dict) and all(isinstance(lognormal.get(k), (int, float)) for k in ("median", "p99")) \
                and lognormal["p99"] < lognormal["median"]:
            problems.append((["rules", index, "delay", "lognormal"], "p99 must not be below the median"))
    return problems


def _duplicate_keys(node, path=()) -> list[tuple[yaml.Node, str, str]]:
    """YAML silently keeps the last of two equal keys; a scenario author never means that."""
    found = []
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key, value in node.value:
            if key.tag == MERGE_TAG:
                continue
            if key.value in seen:
                found.append((key, _path_text(list(path) + [key.value]),
                              f"duplicate key {key.value!r} (first on line {seen[key.value] + 1})"))
            seen.setdefault(key.value, key.start_mark.line)
            found += _duplicate_keys(value, (*path, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found += _duplicate_keys(item, (*path, index))
    return found


class ScenarioFormat:
    """Validates scenario text against the schema built for the loaded products."""

    def __init__(self, products: dict, contributions):
        self.schema = build_schema(products, contributions)
        self.validator = Draft202012Validator(self.schema, format_checker=Draft202012Validator.FORMAT_CHECKER)

    def load(self, text: str, source: str = "scenario") -> dict:
        """The document in `text` (YAML or JSON); ScenarioError with every problem, each file:line:column."""
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
            document = yaml.safe_load(text)
        except yaml.YAMLError as problem:
            mark = getattr(problem, "problem_mark", None)
            where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
            message = str(getattr(problem, "problem", None) or problem)
            located = Problem(mark.line + 1 if mark else 1, mark.column + 1 if mark else 1, "", message)
            raise ScenarioError([f"{where}: {message}"], [located.as_dict()]) from None
        document = {} if document is None else document
        problems = [Problem(node.start_mark.line + 1, node.start_mark.column + 1, path, message)
                    for node, path, message in _duplicate_keys(root)]
        explained = [item for error in self.validator.iter_errors(document) for item in _explain(error)]
        explained += [(path, message, False) for path, message in _semantic_problems(document)]
        for path, message, at_key in explained:
            mark = _locate(root, path, at_key).start_mark if root is not None else None
            problems.append(Problem(mark.line + 1 if mark else 1, mark.column + 1 if mark else 1,
                                    _path_text(path), message))
        if problems:
            problems.sort()
            raise ScenarioError([problem.render(source) for problem in problems],
                                [problem.as_dict() for problem in problems])
        return document

    def load_file(self, path) -> dict:
        return self.load(Path(path).read_text(encoding="utf-8"), source=str(path))
