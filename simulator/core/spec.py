"""Load openapi/*.yaml into what the app runs on: operations, validators, catalogue, envelopes.

Everything here happens once, at start-up. A spec may build on shared vendor documents
(openapi/commons/): `x-otpsim.include` lays its x-otpsim over theirs, and every `$ref` into another
file is copied into the spec's own components, so each product stands alone as one document.
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
from simulator.core.pipeline.envelope import REQUEST_ID_PATTERNS, fill
from simulator.core.pipeline.validation import RequestValidator
from simulator.core.startup_cache import cached

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PROTOCOL_ERRORS = (
    "unknown-path", "method-not-allowed", "malformed-body", "unsupported-media-type",
    "body-too-large", "missing-parameter", "invalid-parameter", "internal-error",
)
DEFAULT_SERVER = "otpsim"   # the Server header of a product whose spec names none


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

    `retry_after` is seconds, the name of the product setting that holds them, or the request field
    that carries them (`query.Interval`; `default_s` when the request has none); `per` are the request
    fields (`body.x`, `query.x`, `headers.x`) the limit counts by, none for the whole operation.
    """
    kind: str                    # rate: requests too fast | resend: a new code too soon for one contact
    retry_after: float | str
    per: tuple[str, ...]
    source: str
    synthetic: bool
    default_s: float | None = None

    def as_dict(self) -> dict:
        shown = {"kind": self.kind, "retry-after-s": self.retry_after, "per": list(self.per),
                 "source": self.source, "synthetic": self.synthetic}
        if self.default_s is not None:
            shown["default-s"] = self.default_s
        return shown

    def window_s(self, settings: dict, field=None) -> float:
        """The wait in force: `field(path)` reads the throttled request's fields (None: the default)."""
        if not isinstance(self.retry_after, str):
            return float(self.retry_after)
        if self.retry_after in settings:
            return float(settings[self.retry_after])
        try:
            return float(field(self.retry_after)) if field is not None else self.default_s
        except (TypeError, ValueError):
            return self.default_s


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

    @cached_property  # docs/performance.md, Shaped for speed
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
    auth_options: dict            # x-otpsim.auth.<scheme>: what a scheme needs to know about this product
    envelopes: dict
    protocol_errors: dict
    settings: dict
    catalogue: dict[str, CatalogueEntry]
    rpc: RpcConvention | None = None
    path: Path | None = None        # the spec file, for start-up messages
    hosts: tuple[str, ...] = ()     # x-otpsim.hosts: the Host names it answers on, when it shares routes
    secrets: frozenset = frozenset()   # header, parameter and field names whose values are never shown
    operations: list[Operation] = field(default_factory=list)
    response_headers: tuple = ()    # x-otpsim.response-headers (with Server), as (name, value) bytes

    def setting_defaults(self) -> dict:
        return {name: meta["default"] for name, meta in self.settings.items()}

    def entry(self, key: str) -> CatalogueEntry:
        return self.catalogue[key]


def spec_dir() -> Path:
    return packaged("openapi")


def _read_yaml(path: Path) -> dict:
    """A spec file's document, parsed once and kept between runs under the hash of its text
    (core/startup_cache.py); each caller gets its own copy."""
    try:
        text = path.read_bytes()
        document = cached("yaml", text, lambda: yaml.load(text.decode("utf-8"), Loader=SafeLoader))
    except UnicodeDecodeError as problem:
        raise SpecError(f"{path}: not UTF-8: {problem}") from None
    except OSError as problem:
        raise SpecError(f"{path}: {problem.strerror}") from None
    except yaml.YAMLError as problem:
        raise SpecError(f"{path}: not YAML: {problem}") from None
    if not isinstance(document, dict):
        raise SpecError(f"{path}: not a mapping")
    return document


def _locate(name: str, here: Path) -> Path:
    """A file a spec names (an include, a $ref): next to the spec, else in the packaged openapi/
    folder, so a spec kept elsewhere builds on the packaged commons/ by the same name."""
    beside = (here.parent / name).resolve()
    if beside.is_file():
        return beside
    packaged_copy = (spec_dir() / name).resolve()
    return packaged_copy if packaged_copy.is_file() else beside


def _overlay(base: dict, top: dict) -> dict:
    """`top` laid over `base` to two levels: sections that are mappings (errors, settings, envelopes,
    auth, ...) merge by name, and entries that are mappings on both sides merge field by field; any
    other value of `top` replaces the one below; an empty one (`errors:` with nothing under it) keeps
    it. `top`'s names come first."""
    merged = {}
    for key, value in top.items():
        below = base.get(key)
        if value is None and below is not None:
            value = below
        if isinstance(value, dict) and isinstance(below, dict):
            section = {}
            for name, entry in value.items():
                under = below.get(name)
                section[name] = {**under, **entry} if isinstance(entry, dict) and isinstance(under, dict) else entry
            section.update((name, entry) for name, entry in below.items() if name not in value)
            merged[key] = section
        else:
            merged[key] = value
    merged.update((key, value) for key, value in base.items() if key not in top)
    return merged


def _with_includes(ext: dict, path: Path, chain: tuple = ()) -> dict:
    """x-otpsim with the x-otpsim of each document it includes beneath it (later includes over earlier)."""
    includes = ext.get("include") or []
    if not isinstance(includes, list):
        raise SpecError(f"{path}: x-otpsim.include must be a list of file names")
    base: dict = {}
    for name in includes:
        included = _locate(str(name), path)
        if included in chain or included == path:
            raise SpecError(f"{path}: x-otpsim.include {name} includes itself")
        shared = copy.deepcopy(_read_yaml(included).get("x-otpsim") or {})
        if "product" in shared:
            raise SpecError(f"{path}: x-otpsim.include {name} is a product spec; include only shared documents")
        base = _overlay(base, _with_includes(shared, included, chain + (path,)))
    return _overlay(base, {key: value for key, value in ext.items() if key != "include"})


class _Importer:
    """Copies what `$ref`s into other files point at into the spec's own components.

    A target `<file>#/components/<kind>/<name>` keeps its place and name (`#/components/<kind>/<name>`),
    so the served document reads like the sources; any other target is inlined. References inside
    a copied part are followed relative to the file it came from.
    """

    def __init__(self, origin: Path):
        self.origin = origin
        self.imported: dict[tuple[str, str], object] = {}
        self.sources: dict[tuple[str, str], tuple[Path, str]] = {}
        self.files: dict[Path, dict] = {}

    def document(self, document: dict) -> dict:
        result = self._visit(document, self.origin, ())
        for (kind, name), content in self.imported.items():
            section = result.setdefault("components", {}).setdefault(kind, {})
            if name in section and section[name] != content:
                file, pointer = self.sources[(kind, name)]
                raise SpecError(f"{self.origin}: components.{kind}.{name} is defined here and also imported from "
                                f"{file.name}#{pointer}; rename the local one")
            section[name] = content
        return result

    def _visit(self, node, here: Path, slot):
        if isinstance(node, list):
            return [self._visit(item, here, None) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            file, _, pointer = ref.partition("#")
            target = _locate(file, here) if file else here
            if target != self.origin:
                return self._import(node, target, pointer, slot)
        return {key: self._visit(value, here, None if slot is None else slot + (key,)) for key, value in node.items()}

    def _import(self, node: dict, target: Path, pointer: str, slot):
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        try:
            if target not in self.files:
                self.files[target] = _read_yaml(target)
            content = self.files[target]
            for part in pointer.lstrip("/").split("/") if pointer.strip("/") else []:
                content = content[part.replace("~1", "/").replace("~0", "~")]
        except (KeyError, TypeError):
            raise SpecError(f"{self.origin}: $ref {node['$ref']} points at nothing") from None
        parts = tuple(pointer.strip("/").split("/"))
        if len(parts) != 3 or parts[0] != "components":
            inlined = {**content, **siblings} if isinstance(content, dict) else content
            return self._visit(copy.deepcopy(inlined), target, None)
        _, kind, name = parts
        source = self.sources.setdefault((kind, name), (target, pointer))
        if source != (target, pointer):
            raise SpecError(f"{self.origin}: components.{kind}.{name} is imported from both "
                            f"{source[0].name}#{source[1]} and {target.name}#{pointer}")
        if (kind, name) not in self.imported:
            self.imported[(kind, name)] = None  # placed first: a part that refers back to itself ends here
            self.imported[(kind, name)] = self._visit(copy.deepcopy(content), target, None)
        if slot == ("components", kind, name):  # the spec lists the shared part under its own name
            return self.imported[(kind, name)]
        return {"$ref": f"#/components/{kind}/{name}", **siblings}


def assemble(path: Path) -> dict:
    """The spec at `path` as one self-contained document: its includes merged into x-otpsim, every
    part of another file it refers to copied in."""
    document = _read_yaml(path)
    ext = document.get("x-otpsim")
    if isinstance(ext, dict):
        document["x-otpsim"] = _with_includes(ext, path.resolve())
    return _Importer(path.resolve()).document(document)


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
    default_s = meta.get("default-s")
    if isinstance(retry_after, str) and retry_after.partition(".")[0] in THROTTLE_SECTIONS:
        if not isinstance(default_s, (int, float)) or isinstance(default_s, bool) or default_s < 0:
            raise SpecError(f"{where}: throttle.retry-after-s {retry_after} is a request field and needs default-s")
    elif isinstance(retry_after, str):
        if retry_after not in settings:
            raise SpecError(f"{where}: throttle.retry-after-s names no setting {retry_after}")
        source = source or f"setting {retry_after}: {settings[retry_after].get('source', '')}"
    elif not isinstance(retry_after, (int, float)) or isinstance(retry_after, bool) or retry_after < 0:
        raise SpecError(f"{where}: throttle.retry-after-s must be seconds, a setting's name or a request field")
    if not source:
        raise SpecError(f"{where}: throttle has no source")
    per = tuple(meta.get("per") or ())
    for field_path in per:
        if field_path.partition(".")[0] not in THROTTLE_SECTIONS or "." not in field_path:
            raise SpecError(f"{where}: throttle.per entry {field_path} is not body.NAME, query.NAME or headers.NAME")
    return Throttle(kind, retry_after, per, str(source), bool(meta.get("synthetic", False)),
                    float(default_s) if default_s is not None else None)


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


def _secret_names(document: dict, ext: dict) -> frozenset:
    """What carries a credential: every security scheme's header, query parameter or cookie
    (`Authorization` for an http scheme), and the spec's own list `x-otpsim.secrets` (body
    fields, tokens in answers)."""
    names = set(ext.get("secrets") or ())
    for scheme in ((document.get("components") or {}).get("securitySchemes") or {}).values():
        if scheme.get("type") == "apiKey":
            names.add(scheme["name"])
        elif scheme.get("type") == "http":
            names.add("Authorization")
    return frozenset(names)


def load_product(path: Path) -> ProductSpec:
    document = assemble(path)
    ext = document.get("x-otpsim")
    if not isinstance(ext, dict) or "product" not in ext:
        raise SpecError(f"{path}: no x-otpsim.product")
    name = ext["product"]
    # values the product fixes once for the envelopes it shares with others (e.g. its name in a URL)
    constants = ext.get("envelope-values") or {}
    envelopes = {}
    for kind, envelope in (ext.get("envelopes") or {}).items():
        if not isinstance(envelope, dict) or "body" not in envelope:
            raise SpecError(f"{name}: envelope {kind} has no body")
        envelopes[kind] = {**envelope, "body": fill(envelope["body"], constants)}
    if "default" not in envelopes:
        raise SpecError(f"{name}: x-otpsim.envelopes has no default")
    catalogue = _catalogue(name, ext.get("errors") or {}, envelopes, ext.get("settings") or {})
    protocol_errors = ext.get("protocol-errors") or {}
    for kind in PROTOCOL_ERRORS:
        if protocol_errors.get(kind) not in catalogue:
            raise SpecError(f"{name}: protocol-errors.{kind} must name a catalogue entry")
    # optional: the answer while the shared store is out of reach (internal-error where a product has none)
    if "service-unavailable" in protocol_errors and protocol_errors["service-unavailable"] not in catalogue:
        raise SpecError(f"{name}: protocol-errors.service-unavailable must name a catalogue entry")
    auth = ext.get("auth") or {}
    if auth.get("schemes") and auth.get("failure") is None:
        raise SpecError(f"{name}: auth.schemes needs auth.failure, the answer when no scheme applies")
    if auth.get("failure") is not None and auth["failure"] not in catalogue:
        raise SpecError(f"{name}: auth.failure {auth['failure']} is not in the catalogue")
    for scheme in auth.get("schemes") or ():
        for reason, code in ((auth.get(scheme) or {}).get("codes") or {}).items():
            if code not in catalogue:
                raise SpecError(f"{name}: auth.{scheme}.codes.{reason} {code} is not in the catalogue")
    response_headers = _response_headers(name, ext.get("response-headers") or {})
    hosts = ext.get("hosts") or []
    if not isinstance(hosts, list) or not all(isinstance(host, str) and host for host in hosts):
        raise SpecError(f"{name}: x-otpsim.hosts must be a list of host names")
    request_id = ext.get("request-id") or {}
    if request_id.get("format", "uuid") not in REQUEST_ID_PATTERNS:
        raise SpecError(f"{name}: request-id.format must be one of {', '.join(REQUEST_ID_PATTERNS)}")
    product = ProductSpec(
        name=name, document=document,
        request_id_format=request_id.get("format", "uuid"), request_id_header=request_id.get("header"),
        request_id_echo=bool(request_id.get("echo", False)),
        claims=tuple(ext.get("claims") or ()), fallback=bool(ext.get("fallback", False)),
        auth_schemes=tuple(auth.get("schemes") or ()), auth_failure=auth.get("failure"),
        auth_options={scheme: auth[scheme] for scheme in auth.get("schemes") or () if scheme in auth},
        envelopes=envelopes, protocol_errors=protocol_errors, settings=ext.get("settings") or {},
        catalogue=catalogue, rpc=_rpc_convention(name, ext.get("rpc")), path=path,
        hosts=tuple(host.lower() for host in hosts), secrets=_secret_names(document, ext),
        response_headers=response_headers,
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


def _response_headers(name: str, declared) -> tuple:
    """The headers every answer of the product carries; `Server` is the neutral DEFAULT_SERVER unless named."""
    if not isinstance(declared, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in declared.items()):
        raise SpecError(f"{name}: x-otpsim.response-headers must map header names to text")
    headers = {k.lower(): v for k, v in declared.items()}
    headers.setdefault("server", DEFAULT_SERVER)
    return tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())


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


def load_products(*directories: Path) -> dict[str, ProductSpec]:
    """The product specs (`*.yaml`) of each folder, the packaged openapi/ when none is given."""
    products = {}
    for path in (p for directory in directories or (spec_dir(),) for p in sorted(Path(directory).glob("*.yaml"))):
        try:
            product = load_product(path)
        except SpecError as problem:
            if str(path) in str(problem):
                raise
            raise SpecError(f"{path}: {problem}") from None
        if product.name in products:
            raise SpecError(f"{path}: a second spec for product {product.name} (the first: {products[product.name].path})")
        products[product.name] = product
    if sum(p.fallback for p in products.values()) > 1:
        raise SpecError("more than one product is marked fallback")
    return products


def served_json(product: ProductSpec) -> bytes:
    return json.dumps(product.document, ensure_ascii=False, indent=1).encode()
