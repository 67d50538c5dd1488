"""From method + path (+ RPC action, + the product a request names) to an operation, or to the
product whose error answers a miss."""

from starlette.routing import compile_path

from simulator.core.errors import SimError, SpecError


class RouteMatch:
    """What routing found: the operation (with the values of its path template's parameters), or
    the product whose `error` answers a request it does not serve; `product` is None when no product
    claims the path."""

    __slots__ = ("product", "operation", "error", "path_params")

    def __init__(self, product=None, operation=None, error: SimError | None = None, path_params=None):
        self.product = product
        self.operation = operation
        self.error = error
        self.path_params = path_params


NO_MATCH = RouteMatch()


class Ambiguous(Exception):
    """An RPC action several products serve, on a request that names none of them."""

    def __init__(self, action: str, products: list[str]):
        super().__init__(action)
        self.action = action
        self.products = products


def host_name(host: str) -> str:
    """The name of a Host value without its port, lower case (`dysmsapi.aliyuncs.com:80` -> `dysmsapi.aliyuncs.com`)."""
    if host.startswith("["):                      # [IPv6]:port
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0].strip().lower() if host.count(":") == 1 else host.strip().lower()


def _claimed(claim: str, path: str) -> bool:
    # "/" claims only the root (Alibaba RPC); any longer claim is a prefix.
    return path == claim or (claim != "/" and path.startswith(claim))


class RpcPath:
    """The actions served on one RPC path, and where a request names its action (the spec's x-otpsim.rpc)."""

    __slots__ = ("header", "query", "actions", "products")

    def __init__(self, product):
        self.header = product.rpc.header
        self.query = product.rpc.query
        self.actions: dict[str, dict[str, object]] = {}   # action -> product name -> operation
        self.products: list = []                          # the products serving actions here, by name

    def action(self, headers, query: dict) -> str | None:
        return (headers.get(self.header) if self.header else None) or (query.get(self.query) if self.query else None)


class Router:
    def __init__(self, products: dict):
        self._routes: dict[str, dict[str, object]] = {}
        self._templates: dict[str, tuple[object, dict[str, object]]] = {}   # `/a/{id}`: (regex, by method)
        self._rpc: dict[str, RpcPath] = {}
        self._claims: list[tuple[str, object]] = []
        self._hosts: dict[str, object] = {}
        self._fallback = None
        for name in sorted(products):
            product = products[name]
            self._hosts.update((host, product) for host in product.hosts)   # wiring.check_routes: each host once
            for op in product.operations:
                if op.rpc_action:
                    rpc = self._rpc.setdefault(op.path, RpcPath(product))
                    if (rpc.header, rpc.query) != (product.rpc.header, product.rpc.query):
                        raise SpecError(f"{product.name}: RPC path {op.path} names its action elsewhere "
                                        f"than the other products on it (x-otpsim.rpc)")
                    rpc.actions.setdefault(op.rpc_action, {})[product.name] = op
                    if product not in rpc.products:
                        rpc.products.append(product)
                elif "{" in op.path:
                    # Starlette's path compiler: `{name}` is one path segment (core/wiring.py checks them)
                    template = self._templates.setdefault(op.path, (compile_path(op.path)[0], {}))
                    template[1][op.method] = op
                else:
                    self._routes.setdefault(op.path, {})[op.method] = op
            self._claims.extend((claim, product) for claim in product.claims)
            if product.fallback:
                self._fallback = product
        self._claims.sort(key=lambda item: len(item[0]), reverse=True)

    def _template(self, path: str):
        """(operations by method, parameter values) of the first template `path` fits; a literal path wins."""
        for regex, by_method in self._templates.values():
            found = regex.match(path)
            if found is not None:
                return by_method, found.groupdict()
        return None, None

    def product_for_host(self, host: str):
        """The product whose x-otpsim.hosts name this Host, or None."""
        return self._hosts.get(host_name(host)) if host else None

    def owner(self, path: str):
        for claim, product in self._claims:
            if _claimed(claim, path):
                return product
        return self._fallback

    def match(self, method: str, path: str, headers, query: dict, named=None) -> RouteMatch:
        """`named()` gives the product the request names (X-Otpsim-Product, its listener or its Host),
        or None; asked only where several products serve one RPC path, it decides between them.
        Raises Ambiguous for an action several of them serve on a request that names none."""
        by_method, path_params = self._routes.get(path), None
        if by_method is None and self._templates:
            by_method, path_params = self._template(path)
        if by_method is not None:
            op = by_method.get(method)
            if op is not None:
                return RouteMatch(op.product, op, path_params=path_params)
            product = next(iter(by_method.values())).product
            return RouteMatch(product, error=SimError(product.protocol_errors["method-not-allowed"], method=method))
        rpc = self._rpc.get(path)
        if rpc is not None and method in ("GET", "POST"):
            action = rpc.action(headers, query)
            serving = rpc.actions.get(action) or {}
            named = named() if named is not None and len(rpc.products) > 1 else None
            named = named if named in rpc.products else None
            if named is not None:
                op = serving.get(named.name)
            elif len(serving) > 1:
                raise Ambiguous(action, sorted(serving))
            else:
                op = next(iter(serving.values()), None)
            if op is not None:
                return RouteMatch(op.product, op)
            # the product the request names answers; else the first, by name, serving this path
            product = named or rpc.products[0]
            key = "missing-parameter" if not action else "unknown-path"
            return RouteMatch(product, error=SimError(product.protocol_errors[key], field=rpc.query or rpc.header,
                                                      action=action or ""))
        product = self.owner(path)
        if product is None:
            return NO_MATCH
        kind = "method-not-allowed" if rpc is not None else "unknown-path"
        return RouteMatch(product, error=SimError(product.protocol_errors[kind], path=path, method=method))
