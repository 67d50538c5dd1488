"""Load openapi/*.yaml into what the app runs on: operations, validators, catalogue, envelopes.

Everything here happens once, at start-up.
"""

import copy
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

try:  # libyaml when present: start-up reads every spec
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader

from simulator.core.errors import SpecError
from simulator.core.packaged import packaged
from simulator.core.pipeline.validation import RequestValidator

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PROTOCOL_ERRORS = (
    "unknown-path", "method-not-allowed", "malformed-body", "unsupported-media-type",
    "body-too-large", "missing-parameter", "invalid-parameter", "internal-error",
)


@dataclass
class CatalogueEntry:
    key: str
    code: str
    status: int
    message: str
    envelope: str
    source: str
    synthetic: bool
    headers: dict
    fields: dict
    description: str = ""
    throttle: "Throttle | None" = None

    def as_dict(self) -> dict:
        shown = {
            "key": self.key, "code": self.code, "status": self.status, "message": self.message,
            "envelope": self.envelope, "source": self.source, "synthetic": self.synthetic,
            "headers": self.headers, "fields": self.fields, "description": self.description,
        }
        if self.throttle is not None:
            shown["throttle"] = self.throttle.as_dict()
        return shown


@dataclass(frozen=True)
class Throttle:
    """A catalogue entry that answers a request made too often (key `throttle`, openapi/CONVENTIONS.md).

    `retry_after` is seconds, or the name of the product setting that holds them; `per` are the
    request fields (`body.x`, `query.x`, `headers.x`) the limit counts by, none for the whole operation.
    """
    kind: str                    # rate: requests too fast | resend: a new code too soon for one contact
    retry_after: float | str
    per: tuple[str, ...]
    source: str
    synthetic: bool

    def as_dict(self) -> dict:
        return {"kind": self.kind, "retry-after-s": self.retry_after, "per": list(self.per),
                "source": self.source, "synthetic": self.synthetic}

    def window_s(self, settings: dict) -> float:
        return float(settings[self.retry_after]) if isinstance(self.retry_after, str) else float(self.retry_after)


@dataclass(frozen=True)
class RpcConvention:
    """RPC style (x-otpsim.rpc): actions share a path, and a request names its action in this
    header, else in this query parameter."""
    header: str | None
    query: str | None


@dataclass
class Operation:
    product: "ProductSpec"
    id: str
    method: str
    path: str
    rpc_action: str | None
    validator: RequestValidator
    body_media_types: tuple[str, ...]
    public: bool
    raw: dict = field(repr=False)

    @cached_property  # asked for by every scenario rule and journal entry of every request
    def qualified(self) -> str:
        return f"{self.product.name}.{self.id}"


@dataclass
class ProductSpec:
    name: str
    document: dict
    request_id_format: str
    request_id_header: str | None
    request_id_echo: bool
    claims: tuple[str, ...]
    fallback: bool
    auth_schemes: tuple[str, ...]
    auth_failure: str | None
    envelopes: dict
    protocol_errors: dict
    settings: dict
    catalogue: dict[str, CatalogueEntry]
    rpc: RpcConvention | None = None
    operations: list[Operation] = field(default_factory=list)

    def setting_defaults(self) -> dict:
        return {name: meta["default"] for name, meta in self.settings.items()}

    def entry(self, key: str) -> CatalogueEntry:
        return self.catalogue[key]


def spec_dir() -> Path:
    return packaged("openapi")


def _resolve(node, root, seen=()):
    """Inline every local $ref, so validators are compiled from self-contained schemas."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            if ref in seen:
                raise SpecError(f"recursive $ref {ref}")
            target = root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            merged = {**copy.deepcopy(target), **{k: v for k, v in node.items() if k != "$ref"}}
            return _resolve(merged, root, seen + (ref,))
        return {k: _resolve(v, root, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, root, seen) for v in node]
    return node


THROTTLE_KINDS = ("rate", "resend")
THROTTLE_SECTIONS = ("body", "query", "headers")


def _throttle(where: str, meta, settings: dict) -> Throttle | None:
    if meta is None:
        return None
    if not isinstance(meta, dict):
        raise SpecError(f"{where}: throttle must be a mapping")
    kind = meta.get("kind", "rate")
    if kind not in THROTTLE_KINDS:
        raise SpecError(f"{where}: throttle.kind must be one of {', '.join(THROTTLE_KINDS)}")
    retry_after = meta.get("retry-after-s")
    source = meta.get("source")
    if isinstance(retry_after, str):
        if retry_after not in settings:
            raise SpecError(f"{where}: throttle.retry-after-s names no setting {retry_after}")
        source = source or f"setting {retry_after}: {settings[retry_after].get('source', '')}"
    elif not isinstance(retry_after, (int, float)) or isinstance(retry_after, bool) or retry_after < 0:
        raise SpecError(f"{where}: throttle.retry-after-s must be seconds or a setting's name")
    if not source:
        raise SpecError(f"{where}: throttle has no source")
    per = tuple(meta.get("per") or ())
    for field_path in per:
        if field_path.partition(".")[0] not in THROTTLE_SECTIONS or "." not in field_path:
            raise SpecError(f"{where}: throttle.per entry {field_path} is not body.NAME, query.NAME or headers.NAME")
    return Throttle(kind, retry_after, per, str(source), bool(meta.get("synthetic", False)))


def _catalogue(name: str, errors: dict, envelopes: dict, settings: dict) -> dict[str, CatalogueEntry]:
    catalogue = {}
    for key, meta in errors.items():
        for required in ("status", "message", "source"):
            if required not in meta:
                raise SpecError(f"{name}: catalogue entry {key} has no {required}")
        envelope = meta.get("envelope", "default")
        if envelope not in envelopes:
            raise SpecError(f"{name}: catalogue entry {key} names unknown envelope {envelope}")
        catalogue[str(key)] = CatalogueEntry(
            key=str(key), code=str(meta.get("code", key)), status=int(meta["status"]),
            message=str(meta["message"]), envelope=envelope, source=str(meta["source"]),
            synthetic=bool(meta.get("synthetic", False)), headers=dict(meta.get("headers", {})),
            fields=dict(meta.get("fields", {})),
            description=str(meta.get("description", "")),
            throttle=_throttle(f"{name}: catalogue entry {key}", meta.get("throttle"), settings),
        )
    return catalogue


def load_product(path: Path) -> ProductSpec:
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=SafeLoader)
    ext = document.get("x-otpsim")
    if not isinstance(ext, dict) or "product" not in ext:
        raise SpecError(f"{path}: no x-otpsim.product")
    name = ext["product"]
    envelopes = ext.get("envelopes") or {}
    if "default" not in envelopes:
        raise SpecError(f"{name}: x-otpsim.envelopes has no default")
    catalogue = _catalogue(name, ext.get("errors") or {}, envelopes, ext.get("settings") or {})
    protocol_errors = ext.get("protocol-errors") or {}
    for kind in PROTOCOL_ERRORS:
        if protocol_errors.get(kind) not in catalogue:
            raise SpecError(f"{name}: protocol-errors.{kind} must name a catalogue entry")
    auth = ext.get("auth") or {}
    if auth.get("failure") is not None and auth["failure"] not in catalogue:
        raise SpecError(f"{name}: auth.failure {auth['failure']} is not in the catalogue")
    request_id = ext.get("request-id") or {}
    product = ProductSpec(
        name=name, document=document,
        request_id_format=request_id.get("format", "uuid"), request_id_header=request_id.get("header"),
        request_id_echo=bool(request_id.get("echo", False)),
        claims=tuple(ext.get("claims") or ()), fallback=bool(ext.get("fallback", False)),
        auth_schemes=tuple(auth.get("schemes") or ()), auth_failure=auth.get("failure"),
        envelopes=envelopes, protocol_errors=protocol_errors, settings=ext.get("settings") or {},
        catalogue=catalogue, rpc=_rpc_convention(name, ext.get("rpc")),
    )
    public = set(auth.get("public") or ())
    resolved_paths = _resolve(document.get("paths") or {}, document)
    for path_key, path_item in resolved_paths.items():
        shared_params = path_item.get("parameters", [])
        for method in HTTP_METHODS:
            op = path_item.get(method)
            if op is None:
                continue
            if "operationId" not in op:
                raise SpecError(f"{name}: {method.upper()} {path_key} has no operationId")
            for code in (op.get("x-otpsim-invalid") or {}).values():
                if code not in catalogue:
                    raise SpecError(f"{name}.{op['operationId']}: x-otpsim-invalid names unknown code {code}")
            body = op.get("requestBody") or {}
            media = body.get("content") or {}
            wire_path = path_key.split("#", 1)[0] or "/"
            if op.get("x-otpsim-rpc-action") and product.rpc is None:
                raise SpecError(f"{name}.{op['operationId']}: x-otpsim-rpc-action needs x-otpsim.rpc "
                                "(where a request names its action)")
            product.operations.append(Operation(
                product=product, id=op["operationId"], method=method.upper(), path=wire_path,
                rpc_action=op.get("x-otpsim-rpc-action"),
                validator=RequestValidator(
                    parameters=shared_params + op.get("parameters", []),
                    body_schema=_body_schema(media), body_required=bool(body.get("required")),
                    invalid_overrides=op.get("x-otpsim-invalid") or {},
                    protocol_errors=protocol_errors,
                ),
                body_media_types=tuple(media),
                public=op["operationId"] in public, raw=op,
            ))
    return product


def _rpc_convention(name: str, rpc) -> RpcConvention | None:
    if rpc is None:
        return None
    if not isinstance(rpc, dict) or not (rpc.get("action-header") or rpc.get("action-query")):
        raise SpecError(f"{name}: x-otpsim.rpc needs action-header or action-query")
    header = rpc.get("action-header")
    return RpcConvention(header=header.lower() if header else None, query=rpc.get("action-query"))


def _body_schema(media: dict):
    for content in media.values():
        if "schema" in content:
            return content["schema"]
    return None


def load_products(directory: Path | None = None) -> dict[str, ProductSpec]:
    directory = directory or spec_dir()
    products = {}
    for path in sorted(directory.glob("*.yaml")):
        product = load_product(path)
        if product.name in products:
            raise SpecError(f"two specs for product {product.name}")
        products[product.name] = product
    if sum(p.fallback for p in products.values()) > 1:
        raise SpecError("more than one product is marked fallback")
    return products


def served_json(product: ProductSpec) -> bytes:
    return json.dumps(product.document, ensure_ascii=False, indent=1).encode()
