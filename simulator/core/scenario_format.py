"""Scenario text read and validated: every problem reported as file:line:column.

Validation is against the schema scenario_schema.py builds; each schema error is put in the words
a scenario author uses and mapped back to the YAML node it concerns. A valid verdict is kept between
runs (core/startup_cache.py), so a start whose scenarios were checked before never imports jsonschema.
"""

import difflib
import json
import math
import sys
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import orjson
import yaml

from simulator.core import ADMIN_PREFIX
from simulator.core.regex import RegexError, compile_regex
from simulator.core.scenario_schema import build_schema
from simulator.core.startup_cache import cached
from simulator.core.world.callbacks import targets_admin

MERGE_TAG = "tag:yaml.org,2002:merge"

# Bounds that keep reading a scenario short whatever its text (docs/scenarios.md, "Limits").
MAX_DEPTH = 64                 # nesting of mappings and lists
MAX_ALIASES = 1_000            # `*name` references
MAX_NODES = 100_000            # values once every alias is expanded (a 432-byte alias bomb has 10^9)
MAX_RULES = 1_000
MAX_INTEGER = (1 << 63) - 1    # integers are 64-bit; a 5,000-digit one cannot even be printed
MAX_RESPOND_BODY = 1 << 20     # bytes of a `respond.body` once written out
MAX_REGEX = 1_000              # characters of a match regex


class ScenarioError(Exception):
    """`problems` as file:line:column lines; `located` the same as {line, column, path, message} (for editors)."""

    def __init__(self, problems: list[str], located: list[dict] | None = None):
        super().__init__("\n".join(problems))
        self.problems = problems
        self.located = located or []


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, refusing nesting past MAX_DEPTH, more than MAX_ALIASES aliases and more
    than MAX_NODES values while it composes, before anything is expanded."""

    def __init__(self, text):
        super().__init__(text)
        self._depth = 0
        self._aliases = 0
        self._nodes = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise yaml.composer.ComposerError(None, None, f"more than {MAX_ALIASES} aliases", event.start_mark)
            return super().compose_node(parent, index)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise yaml.composer.ComposerError(None, None, f"more than {MAX_NODES} values", event.start_mark)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_scalar(self, node):
        """The text of a scalar. Escaped surrogates are read as JSON reads them: a pair (`\\ud83d\\ude00`,
        what json.dumps writes for 😀) is its character, and a lone one is refused, as the reader refuses
        one written as is: no JSON answer, journal entry or page can hold it."""
        value = super().construct_scalar(node)
        if value.isascii():
            return value
        try:
            value.encode()
        except UnicodeEncodeError:
            try:
                return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
            except UnicodeDecodeError:
                raise yaml.constructor.ConstructorError(None, None, "a lone surrogate (an escape \\ud800 to \\udfff "
                                                        "without its pair) is no character", node.start_mark) from None
        return value

    def construct_mapping(self, node, deep=False):
        """A mapping whose keys are all text: a JSON object's are, and every part of otpsim reads them as such."""
        mapping = super().construct_mapping(node, deep)
        for key_node, _ in node.value:
            if not isinstance(self.construct_object(key_node), str):
                raise yaml.constructor.ConstructorError(None, None, f"the key {key_node.value!r} is not text: a scenario's keys are "
                                                        f"strings, as in JSON (quote it: '{key_node.value}')", key_node.start_mark)
        return mapping

    def construct_not_json(self, node):
        raise yaml.constructor.ConstructorError(None, None, f"{node.tag.replace('tag:yaml.org,2002:', '!!')} is not JSON data: a scenario holds only "
                                                "mappings, lists, strings, numbers, booleans and null", node.start_mark)


# a scenario is JSON data: a date stays the text it was written as, and a tag of another type is refused
_BoundedLoader.add_constructor("tag:yaml.org,2002:timestamp", _BoundedLoader.construct_yaml_str)
for _tag in ("binary", "set", "omap", "pairs"):
    _BoundedLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _BoundedLoader.construct_not_json)


def _expanded_size(root) -> int:
    """How many nodes `root` has once its aliases are expanded, counting each shared node once
    per use (linear in the graph: sizes are remembered per node)."""
    sizes: dict[int, int] = {}
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = node.value if isinstance(node, yaml.SequenceNode) else \
            [part for pair in node.value for part in pair] if isinstance(node, yaml.MappingNode) else []
        if children_done or not children:
            sizes[id(node)] = min(1 + sum(sizes.get(id(child), 1) for child in children), MAX_NODES + 1)
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def _compose(text: str, source: str):
    """The YAML node tree of `text` and the document it holds, within the bounds above."""
    loader = None
    try:
        loader = _BoundedLoader(text)   # refuses characters YAML cannot hold (a lone surrogate)
        try:
            root = loader.get_single_node()
        except (ValueError, OverflowError):   # PyYAML's chr() of a \U escape past Unicode
            mark = loader.get_mark()
            raise ScenarioError([f"{source}:{mark.line + 1}:{mark.column + 1}: an escape past \\U0010FFFF, "
                                 "the last Unicode character"]) from None
        if root is not None and _expanded_size(root) > MAX_NODES:
            raise ScenarioError([f"{source}:1:1: more than {MAX_NODES} values once aliases are expanded"])
        return root, (loader.construct_document(root) if root is not None else None)
    except yaml.YAMLError as problem:
        mark = getattr(problem, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        message = str(getattr(problem, "problem", None) or problem)
        located = Problem(mark.line + 1 if mark else 1, mark.column + 1 if mark else 1, "", message)
        raise ScenarioError([f"{where}: {message}"], [located.as_dict()]) from None
    except ValueError:   # Python's own bound on reading integers (4,300 digits)
        raise ScenarioError([f"{source}: a number too long to read (integers are at most {MAX_INTEGER})"]) from None
    finally:
        if loader is not None:
            loader.dispose()


def _finite_number(checker, instance) -> bool:
    return isinstance(instance, (int, float)) and not isinstance(instance, bool) and \
        (not isinstance(instance, float) or math.isfinite(instance))


def _whole_number(checker, instance) -> bool:
    """Integers only: YAML `2.0` is a float, and a rule's count is never that."""
    return isinstance(instance, int) and not isinstance(instance, bool)


@cache
def _scenario_validator():
    """Draft 2020-12 with the scenario's types; jsonschema is imported here, on the first check the
    start-up cache cannot answer (about 4 MB and 40 ms a start would otherwise pay)."""
    from jsonschema import Draft202012Validator, validators

    # JSON Schema counts 2.0 as an integer and NaN as a number; a scenario does neither
    return validators.extend(Draft202012Validator, type_checker=Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"number": _finite_number, "integer": _whole_number}))


@cache
def _checker_code() -> bytes:
    """The source of this module and of those its verdicts call on, read once: a change to any of
    them makes every check run afresh."""
    names = {__name__, build_schema.__module__, compile_regex.__module__, targets_admin.__module__}
    return b"".join(Path(sys.modules[name].__file__).read_bytes() for name in sorted(names)) + ADMIN_PREFIX.encode()


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
                   if what else f"bad name {error.instance!r}: {schema.get('x-otpsim-message') or 'a dotted path like a.b.c'}")
        return [(path + [error.instance], message, True)]
    if error.validator == "enum" and "x-otpsim-what" in schema:
        return [(path, f"{error.instance!r} is not a known {schema['x-otpsim-what']}"
                       f"{_suggest(error.instance, schema['enum'])}", False)]
    return [(path, schema.get("x-otpsim-message") or error.message, False)]


def _unwritable_numbers(value, path=()) -> list[tuple[list, str]]:
    """NaN, infinities and integers past 64 bits anywhere: no answer, delay or JSON can hold them."""
    found, stack = [], [(value, path)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            stack.extend((item, (*path, key)) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((item, (*path, index)) for index, item in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            found.append((list(path), f"{value} is not a finite number"))
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INTEGER:
            found.append((list(path), f"integer out of range (at most {MAX_INTEGER} either way)"))
    return found


def _regex_problems(match, path: list) -> list[tuple[list, str]]:
    problems = []
    for section in ("headers", "query", "body"):
        for name, matcher in ((match.get(section) if isinstance(match, dict) else None) or {}).items():
            for index, option in enumerate(matcher if isinstance(matcher, list) else [matcher]):
                pattern = option.get("regex") if isinstance(option, dict) else None
                if not isinstance(pattern, str) or len(pattern) > MAX_REGEX:
                    continue
                try:
                    compile_regex(pattern)
                except RegexError as problem:
                    where = [*path, "match", section, name] + ([index] if isinstance(matcher, list) else []) + ["regex"]
                    problems.append((where, f"{pattern!r} is not a 'regex' RE2 accepts: {problem}"))
    return problems


def _respond_problems(respond, path: list) -> list[tuple[list, str]]:
    body = respond.get("body") if isinstance(respond, dict) else None
    if isinstance(body, (dict, list)) and len(json.dumps(body, ensure_ascii=False)) > MAX_RESPOND_BODY:
        return [([*path, "body"], f"respond.body is larger than {MAX_RESPOND_BODY} bytes")]
    if isinstance(body, str) and len(body.encode()) > MAX_RESPOND_BODY:
        return [([*path, "body"], f"respond.body is larger than {MAX_RESPOND_BODY} bytes")]
    return []


def _admin_push_targets(document) -> list[tuple[list, str]]:
    """Push URLs (in credentials) that point at the admin API: a push there could reset the server."""
    credentials = document.get("credentials") if isinstance(document, dict) else None
    problems = []
    for kind, entries in (credentials.items() if isinstance(credentials, dict) else ()):
        for index, entry in enumerate(entries if isinstance(entries, list) else ()):
            for key, value in (entry.items() if isinstance(entry, dict) else ()):
                if isinstance(value, str) and value.startswith(("http://", "https://")) and targets_admin(value):
                    problems.append((["credentials", kind, index, key],
                                     f"a push may not target the admin API ({ADMIN_PREFIX})"))
    return problems


def _semantic_problems(document) -> list[tuple[list, str]]:
    """What JSON Schema cannot say: push URLs outside the admin API, ordered pairs in delay
    distributions, regexes RE2 compiles, the size of a raw answer."""
    problems = _admin_push_targets(document)
    rules = document.get("rules") if isinstance(document, dict) else None
    for index, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, dict):
            continue
        problems += _regex_problems(rule.get("match"), ["rules", index])
        problems += _respond_problems(rule.get("respond"), ["rules", index, "respond"])
        delay = rule.get("delay")
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
        self._operations = {name: frozenset(op.qualified for op in product.operations)
                            for name, product in products.items()}
        # what a verdict depends on besides the text and its name
        self._verdict_key = _checker_code() + orjson.dumps(
            [self.schema, {name: sorted(operations) for name, operations in self._operations.items()}],
            option=orjson.OPT_SORT_KEYS)

    @cached_property
    def validator(self):
        """The schema's jsonschema validator, built for the first check the start-up cache cannot answer."""
        validator = _scenario_validator()
        return validator(self.schema, format_checker=validator.FORMAT_CHECKER)

    def load(self, text: str, source: str = "scenario", keep: bool = True) -> dict:
        """The document in `text` (YAML or JSON); ScenarioError with every problem, each file:line:column."""
        return self.check(text, source, keep)[0]

    def check(self, text: str, source: str = "scenario", keep: bool = True) -> tuple[dict, list[str]]:
        """`load`, and warnings about what is valid but surely not meant (rules never reached). A
        valid verdict is read back from the start-up cache, or kept there, unless `keep` is false."""
        if not keep:
            return self._check(text, source)
        # a str from Python code may hold lone surrogates: the check refuses them, the key must not
        name = source.encode("utf-8", "surrogatepass")
        key = self._verdict_key + b"%d:" % len(name) + name + text.encode("utf-8", "surrogatepass")
        return cached("scenarios", key, lambda: self._check(text, source))

    def _check(self, text: str, source: str) -> tuple[dict, list[str]]:
        root, document = _compose(text, source)
        document = {} if document is None else document
        problems = [Problem(node.start_mark.line + 1, node.start_mark.column + 1, path, message)
                    for node, path, message in _duplicate_keys(root)]
        # what would make the full check slow or crash it comes first, alone
        explained = [(path, message, False) for path, message in _unwritable_numbers(document)]
        rules = document.get("rules") if isinstance(document, dict) else None
        if isinstance(rules, list) and len(rules) > MAX_RULES:
            explained.append((["rules"], f"at most {MAX_RULES} rules in a scenario", False))
        if not explained:
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
        warnings = []
        for path, message in self._shadowed_rules(document.get("rules") or []):
            mark = _locate(root, path, False).start_mark
            warnings.append(Problem(mark.line + 1, mark.column + 1, _path_text(path), message).render(source))
        return document, warnings

    def load_file(self, path) -> dict:
        return self.load(Path(path).read_text(encoding="utf-8"), source=str(path))

    def _reach(self, match: dict) -> frozenset:
        """The operations a rule's product and operation filters let through."""
        names = lambda value: [value] if isinstance(value, str) else list(value or [])
        operations = frozenset().union(*self._operations.values())
        if match.get("product") is not None:
            operations = frozenset().union(*(self._operations[name] for name in names(match["product"])))
        if match.get("operation") is not None:
            operations &= frozenset(names(match["operation"]))
        return operations

    def _shadowed_rules(self, rules: list) -> list[tuple[list, str]]:
        """Rules an earlier catch-all always answers first: one with no header, query or body filter
        and no after, times or probability takes every request of its operations (a delay or a
        fault rule too: the first rule that matches is the one that answers)."""
        found, catch_alls = [], []
        for index, rule in enumerate(rules):
            match = rule.get("match") or {}
            reach = self._reach(match)
            shadowing = next((earlier for earlier, covered in catch_alls if reach <= covered), None)
            if shadowing is not None:
                found.append((["rules", index], f"never reached: {_rule_name(rules, shadowing)} before it answers every "
                                                f"request it matches (put the catch-all last, or give it times/probability)"))
            elif not any(match.get(section) for section in ("headers", "query", "body")) \
                    and not any(key in rule for key in ("after", "times", "probability")):
                catch_alls.append((index, reach))
        return found


def _rule_name(rules: list, index: int) -> str:
    name = rules[index].get("name")
    return f"rules[{index}] ({name})" if name else f"rules[{index}]"
