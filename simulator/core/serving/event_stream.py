"""The world's events as server-sent events (text/event-stream), for the page and any other listener."""

import orjson

from simulator.core.world.events import Events

KEEP_ALIVE_S = 15.0   # a comment line this often keeps proxies from closing a quiet stream
RETRY_MS = 1000       # how soon a browser reconnects after the stream breaks


def frame(event_id: int, kind: str, data: bytes) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event_id, kind.encode(), data)


async def event_stream(events: Events, hello: dict):
    """`hello` first, then every event as it is published; a listener that fell behind gets
    `missed` (with how many) and should read the state afresh."""
    subscription = events.subscribe()
    if events.announce_listener is not None:   # a shared world: the other workers publish from now on
        await events.announce_listener()
    try:
        yield b"retry: %d\n" % RETRY_MS + frame(0, "hello", orjson.dumps(hello))
        while not subscription.closed:
            batch, missed = await subscription.take(KEEP_ALIVE_S)
            chunks = [frame(0, "missed", orjson.dumps({"count": missed}))] if missed else []
            chunks += [frame(*event) for event in batch]
            yield b"".join(chunks) if chunks else b": keep-alive\n\n"
    finally:
        subscription.close()
