"""From method + path (+ RPC action) to an operation, or to the product whose error answers a miss."""

from simulator.core.errors import SimError


def _claimed(claim: str, path: str) -> bool:
    # "/" claims only the root (Alibaba RPC); any longer claim is a prefix.
    return path == claim or (claim != "/" and path.startswith(claim))


class Router:
    def __init__(self, products: dict):
        self._routes: dict[str, dict[str, object]] = {}
        self._rpc: dict[str, dict[str, object]] = {}
        self._claims: list[tuple[str, object]] = []
        self._fallback = None
        for product in products.values():
            for op in product.operations:
                if op.rpc_action:
                    self._rpc.setdefault(op.path, {})[op.rpc_action] = op
                else:
                    self._routes.setdefault(op.path, {})[op.method] = op
            self._claims.extend((claim, product) for claim in product.claims)
            if product.fallback:
                self._fallback = product
        self._claims.sort(key=lambda item: len(item[0]), reverse=True)

    def owner(self, path: str):
        for claim, product in self._claims:
            if _claimed(claim, path):
                return product
        return self._fallback

    def resolve(self, method: str, path: str, headers, query: dict):
        """(operation, None) or (None, (product, SimError)) for a request nobody serves."""
        by_method = self._routes.get(path)
        if by_method is not None:
            op = by_method.get(method)
            if op is not None:
                return op, None
            product = next(iter(by_method.values())).product
            return None, (product, SimError(product.protocol_errors["method-not-allowed"], method=method))
        actions = self._rpc.get(path)
        if actions is not None and method in ("GET", "POST"):
            action = headers.get("x-acs-action") or query.get("Action")
            op = actions.get(action)
            if op is not None:
                return op, None
            product = next(iter(actions.values())).product
            key = "missing-parameter" if not action else "unknown-path"
            return None, (product, SimError(product.protocol_errors[key], field="Action", action=action or ""))
        product = self.owner(path)
        if product is None:
            return None, None
        kind = "method-not-allowed" if actions is not None else "unknown-path"
        return None, (product, SimError(product.protocol_errors[kind], path=path, method=method))
