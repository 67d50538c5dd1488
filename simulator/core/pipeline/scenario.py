"""Scenarios at run time: which rule answers a request, how long it waits, how it breaks.

A document has already passed the scenario schema (scenario_schema.py) when it gets here. Rules
are tried in order; the first that matches and admits the request answers it.
"""

import math
from statistics import NormalDist

from simulator.core.pipeline.envelope import Answer, encode_json
from simulator.core.pipeline.faults import Fault
from simulator.core.regex import compile_regex
from simulator.core.world.callbacks import CallbackFaults
from simulator.core.world.receipts import Fates

MAX_DELAY_MS = 300_000
Z_99 = NormalDist().inv_cdf(0.99)


def _text(value) -> str:
    """A scalar as it reads on the wire, so YAML 1, "1" and a query "1" compare equal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_scalar(value) -> bool:
    return value is not None and not isinstance(value, (dict, list))


def compile_matcher(spec):
    """An exact value, {regex: ...} (RE2 search: linear time, whatever the pattern and the field's
    length) or a list of them: a predicate on one field."""
    if isinstance(spec, list):
        options = [compile_matcher(option) for option in spec]
        return lambda actual: any(option(actual) for option in options)
    if isinstance(spec, dict):
        pattern = compile_regex(spec["regex"])
        return lambda actual: _is_scalar(actual) and pattern.search(_text(actual)) is not None
    expected = _text(spec)
    return lambda actual: _is_scalar(actual) and _text(actual) == expected


def _dig(value, path: tuple[str, ...]):
    for part in path:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _names(spec) -> frozenset | None:
    if spec is None:
        return None
    return frozenset(spec if isinstance(spec, list) else [spec])


class RuleMatch:
    """A rule's `match`: what a request (the request context, as routed and parsed) must be."""

    def __init__(self, spec: dict):
        self.products = _names(spec.get("product"))
        self.operations = _names(spec.get("operation"))
        self.headers = {name.lower(): compile_matcher(v) for name, v in (spec.get("headers") or {}).items()}
        self.query = {name: compile_matcher(v) for name, v in (spec.get("query") or {}).items()}
        self.body = {tuple(path.split(".")): compile_matcher(v) for path, v in (spec.get("body") or {}).items()}
        self.key = self._exact_key(spec)

    @staticmethod
    def _exact_key(spec: dict):
        """(section, field, texts) when the only field filter is exact values (one, or a list of
        them): such rules can be looked up by the request's value instead of tried one by one."""
        fields = [(section, name, value) for section in ("headers", "query", "body")
                  for name, value in (spec.get(section) or {}).items()]
        if len(fields) != 1:
            return None
        section, name, value = fields[0]
        options = value if isinstance(value, list) else [value]
        if any(isinstance(option, (dict, list)) for option in options):
            return None
        field = name.lower() if section == "headers" else tuple(name.split(".")) if section == "body" else name
        return section, field, tuple(_text(option) for option in options)

    def admits(self, operation) -> bool:
        """Whether the product and operation filters let requests to `operation` through."""
        if self.products is not None and operation.product.name not in self.products:
            return False
        return self.operations is None or operation.qualified in self.operations

    @staticmethod
    def field_value(section: str, field, request):
        if section == "headers":
            return request.headers.get(field)
        if section == "query":
            return request.wire_params.get(field)
        return _dig(request.body, field)

    def fields_match(self, request) -> bool:
        """Whether the header, query and body filters match (admits() is the caller's to check)."""
        return (
            all(matches(request.headers.get(name)) for name, matches in self.headers.items())
            and all(matches(request.wire_params.get(name)) for name, matches in self.query.items())
            and all(matches(_dig(request.body, path)) for path, matches in self.body.items())
        )


def compile_delay(rule: dict):
    """`delay_ms` or `delay: {fixed | uniform | lognormal}` as a function of the seeded generator."""
    if "delay_ms" in rule:
        fixed = float(rule["delay_ms"])
        return lambda rng: fixed
    spec = rule.get("delay")
    if spec is None:
        return None
    if "fixed" in spec:
        fixed = float(spec["fixed"])
        return lambda rng: fixed
    if "uniform" in spec:
        low, high = spec["uniform"]
        return lambda rng: rng.uniform(low, high)
    median, p99 = spec["lognormal"]["median"], spec["lognormal"]["p99"]
    mu, sigma = math.log(median), math.log(p99 / median) / Z_99
    return lambda rng: min(rng.lognormvariate(mu, sigma), MAX_DELAY_MS)


def respond_answer(respond: dict) -> Answer:
    """A rule's `respond`: status, headers and body sent as given."""
    body = respond.get("body", b"")
    if isinstance(body, (dict, list)):
        body = encode_json(body)
    elif isinstance(body, str):
        body = body.encode()
    # the length is the body's own; a second Content-Length would make the answer unreadable
    headers = [(k.lower().encode(), str(v).encode()) for k, v in (respond.get("headers") or {}).items()
               if k.lower() != "content-length"]
    return Answer(int(respond["status"]), headers, body, None)


RULE_COUNTS = "rule-counts"


class Rule:
    def __init__(self, index: int, spec: dict, rule_keys: dict, serial: int = 0):
        self.spec = spec
        # names the rule's counters in the store: its place counted from the end of the list, which
        # a rule added in front (prepend) leaves as it is, on every worker
        self.serial = serial
        self.name = spec.get("name", f"rule-{index + 1}")
        self.match = RuleMatch(spec.get("match") or {})
        self.after = spec.get("after", 0)
        self.times = spec.get("times")
        self.probability = spec.get("probability")
        self.delay = compile_delay(spec)
        self.error = str(spec["error"]) if "error" in spec else None
        self.respond = respond_answer(spec["respond"]) if "respond" in spec else None
        self.fault = Fault.from_spec(spec.get("fault"))
        self.delivers = spec.get("deliver", True)
        self.callback_faults = CallbackFaults.from_spec(spec.get("callbacks"))
        self.receipts = Fates.from_spec(spec.get("receipts"))
        # the keys products declare (RuleKey), parsed once into what their handlers read
        self.data = {key: declared.parse(spec[key]) for key, declared in rule_keys.items() if key in spec}

    async def admit(self, world, generation: int) -> bool:
        """Count a matching request; True if this rule answers it (after, times, probability).
        The counters live in the world's store, so `after` and `times` count across workers."""
        store, counter = world.store, (generation, self.serial)
        if self.after and await store.incr(RULE_COUNTS, (*counter, "seen")) <= self.after:
            return False
        if self.probability is not None and (await world.draw("scenario", counter)).random() >= self.probability:
            return False
        if self.times is None:
            return True
        times = self.times
        return await store.update(RULE_COUNTS, [(*counter, "answered")], lambda answered: (
            [(answered[0] or 0) + 1], True) if (answered[0] or 0) < times else (answered, False))


class Scenario:
    def __init__(self, document: dict | None = None, rule_keys: dict | None = None):
        document = document or {}
        self.document = document
        self.name = document.get("name", "empty")
        self.credentials = document.get("credentials") or {}
        self.product_settings = document.get("products") or {}
        self._rule_keys = rule_keys or {}
        specs = document.get("rules") or []
        self.rules = [Rule(index, spec, self._rule_keys, len(specs) - 1 - index) for index, spec in enumerate(specs)]
        self._rules_by_operation: dict[str, OperationRules] = {}
        self.generation = 0   # set as the world puts it in force: each scenario put in force counts afresh

    async def select(self, request, world) -> Rule | None:
        for rule in self._rules_for(request.operation).candidates(request):
            if rule.match.fields_match(request) and await rule.admit(world, self.generation):
                return rule
        return None

    def _rules_for(self, operation) -> "OperationRules":
        """The rules whose product and operation filters admit `operation`, worked out once per operation
        (why: docs/performance.md, Shaped for speed)."""
        rules = self._rules_by_operation.get(operation.qualified)
        if rules is None:
            rules = OperationRules([rule for rule in self.rules if rule.match.admits(operation)])
            self._rules_by_operation[operation.qualified] = rules
        return rules

    def prepend(self, spec: dict) -> Rule:
        """`spec` (a valid rule) in force at once, before every other rule; theirs keep their counters."""
        rule = Rule(0, spec, self._rule_keys, len(self.rules))
        self.rules.insert(0, rule)
        self.document["rules"] = [spec, *(self.document.get("rules") or [])]
        self._rules_by_operation.clear()
        return rule


class OperationRules:
    """One operation's rules, in order; those keyed by one exact field value are found by lookup."""

    def __init__(self, rules: list[Rule]):
        self.rules = rules
        self.unkeyed: list[int] = []
        self.keyed: dict[tuple, dict[str, list[int]]] = {}
        for index, rule in enumerate(rules):
            if rule.match.key is None:
                self.unkeyed.append(index)
            else:
                section, field, texts = rule.match.key
                by_value = self.keyed.setdefault((section, field), {})
                for text in texts:
                    by_value.setdefault(text, []).append(index)

    def candidates(self, request) -> list[Rule]:
        if not self.keyed:
            return self.rules
        found = list(self.unkeyed)
        for (section, field), by_value in self.keyed.items():
            actual = RuleMatch.field_value(section, field, request)
            if _is_scalar(actual):
                found.extend(by_value.get(_text(actual), ()))
        return [self.rules[index] for index in sorted(set(found))]


def merge_documents(documents: list[dict], base: dict | None = None) -> dict:
    """Files merged in order, over `base`.

    A later file overrides name (with its description), seed and single settings; credentials
    add up; rules append in file order, and base rules come last (also when a file repeats them,
    as GET /__otpsim/scenario shows them), so a file's own rules win.
    """
    merged: dict = {"credentials": {}, "products": {}, "rules": []}
    for document in ([base] if base else []) + documents:
        if "name" in document:
            merged.pop("description", None)
        for key in ("name", "description", "seed"):
            if key in document:
                merged[key] = document[key]
        for kind, entries in (document.get("credentials") or {}).items():
            known = merged["credentials"].setdefault(kind, [])
            known.extend(entry for entry in entries or [] if entry not in known)
        for product, settings in (document.get("products") or {}).items():
            merged["products"].setdefault(product, {}).update(settings or {})
    base_rules = (base or {}).get("rules") or []
    for document in documents:
        merged["rules"].extend(rule for rule in document.get("rules") or [] if rule not in base_rules)
    merged["rules"].extend(base_rules)
    return merged
