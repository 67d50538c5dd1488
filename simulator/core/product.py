"""What a product module registers, what a handler receives and what it may return."""

import importlib
import pkgutil
from dataclasses import dataclass, field

_PRODUCTS: dict[str, "Product"] = {}


class Product:
    def __init__(self, name: str):
        self.name = name
        self.handlers: dict[str, object] = {}
        _PRODUCTS[name] = self

    def operation(self, operation_id: str):
        def register(handler):
            self.handlers[operation_id] = handler
            return handler
        return register


@dataclass
class Reply:
    body: object = None
    status: int = 200
    headers: dict = field(default_factory=dict)


class Call:
    """One request as a handler sees it (see docs/architecture.md)."""

    __slots__ = ("operation", "method", "path", "query_string", "headers", "query", "body", "params",
                 "raw_body", "settings", "world", "principal", "request_id", "rule", "host")

    def __init__(self, operation, method, path, query_string, headers, query, body, params, raw_body, settings,
                 world, request_id, rule, host):
        self.operation = operation
        self.method = method
        self.path = path
        self.query_string = query_string
        self.headers = headers
        self.query = query
        self.body = body
        self.params = params
        self.raw_body = raw_body
        self.settings = settings
        self.world = world
        self.principal = None
        self.request_id = request_id
        self.rule = rule
        self.host = host


def _import_all(package: str):
    """Every product module of `package`; a private module (`_name`) is a helper they import when needed."""
    module = importlib.import_module(package)
    for info in pkgutil.iter_modules(module.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")


def load_providers() -> dict[str, Product]:
    _import_all("simulator.products")
    return dict(_PRODUCTS)
