"""From method + path (+ RPC action, + the product a request names) to an operation, or to the
product whose error answers a miss."""

from simulator.core.errors import SimError, SpecError


def _claimed(claim: str, path: str) -> bool:
    # "/" claims only the root (Alibaba RPC); any longer claim is a prefix.
    return path == claim or (claim != "/" and path.startswith(claim))


def host_label(host: str) -> str:
    """The first DNS label of a Host value (`dysmsapi.aliyuncs.com:80` -> `dysmsapi`), lower case."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name.split(".", 1)[0].strip().lower()


class Ambiguous(Exception):
    """An RPC action several products serve, on a request that names none of them."""

    def __init__(self, action: str, products: list[str]):
        super().__init__(action)
        self.action = action
        self.products = products


class Router:
    def __init__(self, products: dict):
        self._routes: dict[str, dict[str, object]] = {}
        self._rpc: dict[str, dict[str, dict[str, object]]] = {}   # path -> action -> product -> op
        self._rpc_products: dict[str, list] = {}                   # path -> products serving RPC there
        self._claims: list[tuple[str, object]] = []
        self._hosts: dict[str, object] = {}
        self._fallback = None
        for name in sorted(products):
            product = products[name]
            for op in product.operations:
                if op.rpc_action:
                    self._rpc.setdefault(op.path, {}).setdefault(op.rpc_action, {})[product.name] = op
                    if product not in self._rpc_products.setdefault(op.path, []):
                        self._rpc_products[op.path].append(product)
                else:
                    self._routes.setdefault(op.path, {})[op.method] = op
            self._claims.extend((claim, product) for claim in product.claims)
            for label in product.hosts:
                if label in self._hosts:
                    raise SpecError(f"host {label} is declared by {self._hosts[label].name} and {product.name}")
                self._hosts[label] = product
            if product.fallback:
                self._fallback = product
        self._claims.sort(key=lambda item: len(item[0]), reverse=True)
        self._check_shared_actions(products)

    def _check_shared_actions(self, products: dict):
        """An action two products serve on one path must be reachable in each: both declare hosts."""
        for path, actions in self._rpc.items():
            for action, serving in actions.items():
                if len(serving) > 1:
                    silent = [name for name in serving if not products[name].hosts]
                    if silent:
                        raise SpecError(f"{action} on {path} is served by {', '.join(serving)}; "
                                        f"{', '.join(silent)} declare no x-otpsim.hosts to tell them apart")

    def product_for_host(self, host: str):
        return self._hosts.get(host_label(host)) if host else None

    def owner(self, path: str):
        for claim, product in self._claims:
            if _claimed(claim, path):
                return product
        return self._fallback

    def resolve(self, method: str, path: str, headers, query: dict, named=None):
        """(operation, None) or (None, (product, SimError)) for a request nobody serves.

        `named` is the product the request names (its listener, X-Otpsim-Product or its Host), or
        None; it only decides between the products sharing an RPC path. Raises Ambiguous when
        several products serve the action and the request names none of them."""
        by_method = self._routes.get(path)
        if by_method is not None:
            op = by_method.get(method)
            if op is not None:
                return op, None
            product = next(iter(by_method.values())).product
            return None, (product, SimError(product.protocol_errors["method-not-allowed"], method=method))
        actions = self._rpc.get(path)
        if actions is not None and method in ("GET", "POST"):
            serving = self._rpc_products[path]
            named = named if named in serving else None
            action = headers.get("x-acs-action") or query.get("Action")
            candidates = actions.get(action) or {}
            if named is not None:
                op = candidates.get(named.name)
            elif len(candidates) > 1:
                raise Ambiguous(action, sorted(candidates))
            else:
                op = next(iter(candidates.values()), None)
            if op is not None:
                return op, None
            # the product the request names answers; else the first (by name) serving this path
            product = named or serving[0]
            key = "missing-parameter" if not action else "unknown-path"
            return None, (product, SimError(product.protocol_errors[key], field="Action", action=action or ""))
        product = self.owner(path)
        if product is None:
            return None, None
        kind = "method-not-allowed" if actions is not None else "unknown-path"
        return None, (product, SimError(product.protocol_errors[kind], path=path, method=method))
