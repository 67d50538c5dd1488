"""Scenario documents: credentials, product settings and rules that shape answers.

A rule matches a request on product, operation, headers, query and body fields; the first rule
that matches (and whose `times` / `after` window admits this request) decides.
"""

from dataclasses import dataclass, field


@dataclass
class Rule:
    name: str
    match: dict
    times: int | None = None
    after: int = 0
    spec: dict = field(default_factory=dict)
    seen: int = 0

    def matches(self, operation, headers, query, body) -> bool:
        m = self.match
        if "product" in m and m["product"] != operation.product.name:
            return False
        if "operation" in m and m["operation"] not in (operation.qualified, operation.id):
            return False
        for name, expected in (m.get("headers") or {}).items():
            if not _value_matches(headers.get(name), expected):
                return False
        for source, section in ((query, "query"), (body, "body")):
            for name, expected in (m.get(section) or {}).items():
                actual = source.get(name) if isinstance(source, dict) else None
                if not _value_matches(actual, expected):
                    return False
        return True

    def admit(self) -> bool:
        """Count this matching request; True if it falls inside the rule's after/times window."""
        self.seen += 1
        if self.seen <= self.after:
            return False
        return self.times is None or self.seen <= self.after + self.times


def _value_matches(actual, expected) -> bool:
    if isinstance(expected, list):
        return any(_value_matches(actual, option) for option in expected)
    if actual is None:
        return False
    return str(actual) == str(expected)


class Scenario:
    def __init__(self, document: dict | None = None):
        document = document or {}
        self.document = document
        self.name = document.get("name", "empty")
        self.seed = document.get("seed")
        self.credentials = document.get("credentials") or {}
        self.product_settings = document.get("products") or {}
        self.rules = [
            Rule(
                name=raw.get("name", f"rule-{index + 1}"), match=raw.get("match") or {},
                times=raw.get("times"), after=raw.get("after", 0),
                spec={k: v for k, v in raw.items() if k not in ("name", "match", "times", "after")},
            )
            for index, raw in enumerate(document.get("rules") or [])
        ]

    def select(self, operation, headers, query, body) -> Rule | None:
        for rule in self.rules:
            if rule.matches(operation, headers, query, body) and rule.admit():
                return rule
        return None

    def reset_counters(self):
        for rule in self.rules:
            rule.seen = 0


class ScenarioError(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


TOP_LEVEL_KEYS = {"name", "description", "seed", "credentials", "products", "rules"}


def parse_scenario(text: str, products: dict, source: str = "scenario") -> Scenario:
    """A Scenario from YAML or JSON text, or ScenarioError listing every problem with its line."""
    import yaml

    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as problem:
        mark = getattr(problem, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ScenarioError([f"{where}: {getattr(problem, 'problem', problem)}"]) from None
    if not isinstance(document, dict):
        raise ScenarioError([f"{source}: a scenario is a mapping"])
    problems = [f"{source}: unknown key {key!r}" for key in document if key not in TOP_LEVEL_KEYS]
    operations = {op.qualified for p in products.values() for op in p.operations}
    for name, settings in (document.get("products") or {}).items():
        if name not in products:
            problems.append(f"{source}: products: unknown product {name!r}")
            continue
        for key in settings or {}:
            if key not in products[name].settings:
                problems.append(f"{source}: products.{name}: unknown setting {key!r}")
    for index, rule in enumerate(document.get("rules") or []):
        where = f"{source}: rules[{index}]"
        match = (rule or {}).get("match") or {}
        product_name = match.get("product")
        operation = match.get("operation")
        if operation is not None and operation not in operations:
            problems.append(f"{where}: unknown operation {operation!r}")
        if operation is not None and product_name is None:
            product_name = operation.split(".", 1)[0]
        if product_name is not None and product_name not in products:
            problems.append(f"{where}: unknown product {product_name!r}")
        error = (rule or {}).get("error")
        if error is not None:
            catalogue = products[product_name].catalogue if product_name in products else {}
            if error not in catalogue:
                problems.append(f"{where}: error {error!r} is not in the catalogue of {product_name or 'the matched product'}")
    if problems:
        raise ScenarioError(problems)
    return Scenario(document)


def merge_documents(documents: list[dict]) -> dict:
    """Later files override name, seed and settings, add credentials and append rules."""
    merged: dict = {"credentials": {}, "products": {}, "rules": []}
    for document in documents:
        for key in ("name", "description", "seed"):
            if key in document:
                merged[key] = document[key]
        for kind, entries in (document.get("credentials") or {}).items():
            merged["credentials"].setdefault(kind, []).extend(entries or [])
        for product, settings in (document.get("products") or {}).items():
            merged["products"].setdefault(product, {}).update(settings or {})
        merged["rules"].extend(document.get("rules") or [])
    return merged
