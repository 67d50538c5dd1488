"""How an answer reaches the client: whole, or broken the way a scenario `fault` says.

`malformed_body` and `slow_body` only need ASGI. `connection_reset`, `empty_response` and
`timeout` need the connection itself, which the fault-capable server protocol (server.py) puts
in the scope; an in-process client has none and gets a clear otpsim answer (501) instead.
"""

import asyncio
import socket
import struct
from dataclasses import dataclass

import orjson

from simulator.core.pipeline.envelope import Answer

TRANSPORT_EXTENSION = "otpsim.transport"
CONNECTION_FAULTS = frozenset({"connection_reset", "empty_response", "timeout"})
NO_TRANSPORT_STATUS = 501
# after the connection is broken, how long to wait for the server to notice before returning
DISCONNECT_GRACE_S = 5.0


@dataclass(frozen=True)
class Fault:
    kind: str
    handled: bool = False
    timeout_s: float = 30.0
    duration_s: float = 5.0
    chunk_bytes: int = 8

    @classmethod
    def from_spec(cls, spec) -> "Fault | None":
        if spec is None:
            return None
        return cls(spec) if isinstance(spec, str) else cls(**spec)

    @property
    def drops_request(self) -> bool:
        """True when the request is lost before otpsim handles it (nothing is sent, no code issued)."""
        return self.kind in CONNECTION_FAULTS and not self.handled


async def _start(send, answer: Answer):
    headers = answer.headers + [(b"content-length", str(len(answer.body)).encode())]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})


async def send_whole(send, answer: Answer):
    await _start(send, answer)
    await send({"type": "http.response.body", "body": answer.body})


def garble(body: bytes) -> bytes:
    """The body cut in half: a JSON document that no longer parses."""
    return body[: len(body) // 2] if len(body) > 1 else b"{"


async def _send_slowly(send, answer: Answer, fault: Fault):
    await _start(send, answer)
    size = fault.chunk_bytes
    chunks = [answer.body[i:i + size] for i in range(0, len(answer.body), size)] or [b""]
    pause = fault.duration_s / len(chunks)
    for index, chunk in enumerate(chunks):
        await asyncio.sleep(pause)
        await send({"type": "http.response.body", "body": chunk, "more_body": index < len(chunks) - 1})


async def _until_disconnect(receive, timeout_s: float):
    async def disconnected():
        while (await receive())["type"] != "http.disconnect":
            pass
    try:
        await asyncio.wait_for(disconnected(), timeout_s)
    except TimeoutError:
        pass


def _reset(transport):
    """Close with an RST: SO_LINGER on with a zero timeout makes the kernel abort the connection."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def no_transport_answer(kind: str) -> Answer:
    body = orjson.dumps({"otpsim": (
        f"fault {kind} needs a real connection, and this in-process client has none; "
        "run the simulator on a socket (otpsim serve, EmbeddedOtpsim or the otpsim fixture)")})
    headers = [(b"content-type", b"application/json"), (b"x-otpsim-fault", kind.encode())]
    return Answer(NO_TRANSPORT_STATUS, headers, body, None)


def what_client_gets(scope, answer: Answer, fault: Fault | None) -> Answer | None:
    """The answer the client gets under `fault`, or None when it gets no HTTP answer."""
    if fault is None or fault.kind == "slow_body":
        return answer
    if fault.kind == "malformed_body":
        return answer._replace(body=garble(answer.body))
    if _transport(scope) is None:
        return no_transport_answer(fault.kind)
    return None


def _transport(scope):
    return (scope.get("extensions") or {}).get(TRANSPORT_EXTENSION)


async def deliver(scope, receive, send, sent: Answer | None, fault: Fault | None):
    """Send `sent` (what_client_gets) as `fault` says, or break the connection when it is None."""
    if sent is not None:
        if fault is not None and fault.kind == "slow_body":
            await _send_slowly(send, sent, fault)
        else:
            await send_whole(send, sent)
        return
    transport = _transport(scope)
    if fault.kind == "timeout":
        await _until_disconnect(receive, fault.timeout_s)
    if fault.kind == "connection_reset":
        _reset(transport)
    else:
        transport.close()
    # the server must see the connection gone, or it answers 500 for an app that sent nothing
    await _until_disconnect(receive, DISCONNECT_GRACE_S)
