"""From method + path (+ RPC action) to an operation, or to the product whose error answers a miss.

Products may share a route when their specs declare the hosts they answer on (x-otpsim.hosts,
checked at start-up by core/wiring.py): the request's Host picks one, else the first loaded.
"""

from simulator.core.errors import SimError, SpecError


class RouteMatch:
    """What routing found: the operation, or the product whose `error` answers a request it does not
    serve; `product` is None when no product claims the path."""

    __slots__ = ("product", "operation", "error")

    def __init__(self, product=None, operation=None, error: SimError | None = None):
        self.product = product
        self.operation = operation
        self.error = error


NO_MATCH = RouteMatch()


def _claimed(claim: str, path: str) -> bool:
    # "/" claims only the root (Alibaba RPC); any longer claim is a prefix.
    return path == claim or (claim != "/" and path.startswith(claim))


def _by_host(operations: list, headers):
    """The operation of the product whose declared hosts include the request's Host, else the first."""
    if len(operations) == 1:
        return operations[0]
    host = headers.get("host", "").rsplit(":", 1)[0].lower()
    return next((op for op in operations if host in op.product.hosts), operations[0])


class RpcPath:
    """The actions served on one RPC path, and where a request names its action (the spec's x-otpsim.rpc)."""

    __slots__ = ("header", "query", "actions")

    def __init__(self, product):
        self.header = product.rpc.header
        self.query = product.rpc.query
        self.actions: dict[str, list] = {}   # action -> its operations, one per product serving it

    def action(self, headers, query: dict) -> str | None:
        return (headers.get(self.header) if self.header else None) or (query.get(self.query) if self.query else None)


class Router:
    def __init__(self, products: dict):
        self._routes: dict[str, dict[str, list]] = {}   # path -> method -> operations, one per product
        self._rpc: dict[str, RpcPath] = {}
        self._claims: list[tuple[str, object]] = []
        self._fallback = None
        for product in products.values():
            for op in product.operations:
                if op.rpc_action:
                    rpc = self._rpc.setdefault(op.path, RpcPath(product))
                    if (rpc.header, rpc.query) != (product.rpc.header, product.rpc.query):
                        raise SpecError(f"{product.name}: RPC path {op.path} names its action elsewhere "
                                        f"than the other products on it (x-otpsim.rpc)")
                    rpc.actions.setdefault(op.rpc_action, []).append(op)
                else:
                    self._routes.setdefault(op.path, {}).setdefault(op.method, []).append(op)
            self._claims.extend((claim, product) for claim in product.claims)
            if product.fallback:
                self._fallback = product
        self._claims.sort(key=lambda item: len(item[0]), reverse=True)

    def owner(self, path: str):
        for claim, product in self._claims:
            if _claimed(claim, path):
                return product
        return self._fallback

    def match(self, method: str, path: str, headers, query: dict) -> RouteMatch:
        by_method = self._routes.get(path)
        if by_method is not None:
            operations = by_method.get(method)
            if operations is not None:
                op = _by_host(operations, headers)
                return RouteMatch(op.product, op)
            product = next(iter(by_method.values()))[0].product
            return RouteMatch(product, error=SimError(product.protocol_errors["method-not-allowed"], method=method))
        rpc = self._rpc.get(path)
        if rpc is not None and method in ("GET", "POST"):
            action = rpc.action(headers, query)
            operations = rpc.actions.get(action)
            if operations is not None:
                op = _by_host(operations, headers)
                return RouteMatch(op.product, op)
            product = next(iter(rpc.actions.values()))[0].product
            key = "missing-parameter" if not action else "unknown-path"
            return RouteMatch(product, error=SimError(product.protocol_errors[key], field=rpc.query or rpc.header,
                                                      action=action or ""))
        product = self.owner(path)
        if product is None:
            return NO_MATCH
        kind = "method-not-allowed" if rpc is not None else "unknown-path"
        return RouteMatch(product, error=SimError(product.protocol_errors[kind], path=path, method=method))
