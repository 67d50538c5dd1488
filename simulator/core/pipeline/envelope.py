"""Answers serialised exactly as the vendor does: the spec's envelope templates filled in."""

import re
from typing import NamedTuple

import orjson

from simulator.core.errors import SimError

JSON_TYPE = "application/json;charset=UTF-8"


class Answer(NamedTuple):
    """What is sent for a request: every answer, success, error or a scenario's `respond`, is one."""
    status: int
    headers: list          # [(name bytes, value bytes)], Content-Length is added when sent
    body: bytes
    code: str | None       # the vendor error code it carries, for the journal; None on success


PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _fill_text(text: str, values: dict) -> str:
    return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def fill(template, values: dict):
    """`template` (text, or a mapping or list of them) with its `{placeholder}`s that `values` names filled in."""
    if isinstance(template, str):
        return _fill_text(template, values)
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


REQUEST_ID_PATTERNS = {
    "hex32": re.compile(r"[0-9a-f]{32}"),
    "uuid": re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
    "uuid-upper": re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}"),
}


def is_request_id(value: str, fmt: str) -> bool:
    """Whether `value` has the shape of the product's request ids (the pattern its spec documents)."""
    return REQUEST_ID_PATTERNS[fmt].fullmatch(value) is not None


def new_request_id(rng, fmt: str) -> str:
    bits = rng.getrandbits(128)
    if fmt == "hex32":
        return f"{bits:032x}"
    # str(uuid.UUID(int=bits, version=4)), formatted directly (docs/performance.md, Shaped for speed)
    bits = bits & ~(0xF000 << 64) | (0x4000 << 64)
    bits = bits & ~(0xC000 << 48) | (0x8000 << 48)
    text = f"{bits:032x}"
    value = f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return value.upper() if fmt == "uuid-upper" else value


def encode_json(body) -> bytes:
    return orjson.dumps(body)


def base_headers(product, request_id: str) -> list[tuple[bytes, bytes]]:
    """What every answer of `product` carries: its response-headers (Server among them) and the request id."""
    headers = list(product.response_headers)
    if product.request_id_header:
        headers.append((product.request_id_header.encode(), request_id.encode()))
    return headers


def render_error(product, error: SimError, request_id: str, host: str) -> Answer:
    """The answer of `product` for its catalogue entry `error.key`."""
    entry = product.entry(error.key)
    values = {**entry.fields, **error.fields, "code": entry.code, "request_id": request_id, "host": host}
    values["message"] = _fill_text(entry.message, values)
    body = fill(product.envelopes[entry.envelope]["body"], values)
    headers = base_headers(product, request_id)
    headers.append((b"content-type", JSON_TYPE.encode()))
    headers.extend((k.encode(), str(v).encode()) for k, v in entry.headers.items())
    return Answer(entry.status, headers, encode_json(body), entry.code)
