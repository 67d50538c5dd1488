"""Cost as work grows: memory per live code, per placed call and per journal entry, and osm
SendVerifyCodes throughput with 1, 10 and 100 thousand live codes in the store.

In-process (the ASGI app, no sockets, as bench/soak.py drives it), on a manual clock, in memory.
Memory is what tracemalloc sees the world keep: a code through the world's CodeBook; a call as
voice CallVerify leaves it (its port, its due events, its fee batch, its nonce, its journal entry);
a journal entry as one osm request leaves it. Throughput is sequential requests a second of one
process with the live codes issued beforehand, so what a growing store costs each request shows.

    python bench/growth.py [--requests 3000]
"""

import argparse
import asyncio
import gc
import tempfile
import time
import tracemalloc
from pathlib import Path

from run import SCENARIOS, bench_scenario_file, is_correct, make_request, served_operations
from soak import send_one

from simulator.core.compose import create_simulator
from simulator.core.world.journal import Entry

LIVE_CODES = (1_000, 10_000, 100_000)
MEASURED = 10_000      # items per memory measurement
SCENARIO_NAMES = ("osm-send", "voice-callverify")


def simulator(scenarios, **options):
    with tempfile.TemporaryDirectory(prefix="otpsim-growth-") as scratch:
        return create_simulator([str(bench_scenario_file(scenarios, Path(scratch)))], **options)


async def kept_bytes(work) -> float:
    """Bytes still allocated after `work()` (collected first), by tracemalloc's count."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    await work()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return after - before


async def per_code() -> float:
    world = simulator([]).world
    await world.move_clock(mode="manual")

    async def issue():
        for n in range(MEASURED):
            await world.codes.issue("osm:contacts", f"+86139{n:08d}", 6, ttl_s=300, resend_interval_s=60)
    return await kept_bytes(issue) / MEASURED


async def per_request(scenario, count: int) -> float:
    sim = simulator([scenario], journal_capacity=count + 10, outbox_capacity=count + 10)
    world = sim.world
    await world.move_clock(mode="manual")
    await world.put_scenario(sim.compile_scenario({**world.scenario.document, "products": {
        **world.scenario.document.get("products", {}), "voice": {"voice_ports": count + 10}}}))
    requests = [make_request(scenario, n, 8080, now=world.clock.now()) for n in range(1, count + 1)]

    async def send():
        for request in requests:
            status, body = await send_one(sim, request)
            assert is_correct(scenario.expect_status, scenario.expect_body, status, body), body
    kept = await kept_bytes(send) / count
    await world.scheduler.close()
    return kept


async def per_journal_entry() -> float:
    world = simulator([], journal_capacity=MEASURED + 10).world
    headers = b"host:127.0.0.1\ncontent-type:application/json\nx-sdk-date:20260101T000000Z"

    async def record():
        for n in range(MEASURED):
            await world.journal.record(Entry(0.0, "osm", "osm.SendVerifyCodes", "POST", "/v2/x", "", headers,
                                             f"{n:032x}", b'{"contact_value":"13800000000"}' * 2))
    return await kept_bytes(record) / MEASURED


async def throughput(scenario, live: int, requests: int) -> float:
    sim = simulator([scenario])
    world = sim.world
    await world.move_clock(mode="manual")
    for n in range(live):
        await world.codes.issue("osm:live", f"+86137{n:08d}", 6, ttl_s=3600)
    batch = [make_request(scenario, 10_000_000 + n, 8080, now=world.clock.now()) for n in range(requests)]
    started = time.perf_counter()
    for request in batch:
        status, body = await send_one(sim, request)
        assert is_correct(scenario.expect_status, scenario.expect_body, status, body), body
    return requests / (time.perf_counter() - started)


async def main(args) -> int:
    served = served_operations()
    by_name = {s.name: s for s in SCENARIOS if s.name in SCENARIO_NAMES and s.operation in served}
    print("| kept by the world | bytes each |")
    print("|---|---:|")
    print(f"| a live code (CodeBook) | {await per_code():,.0f} |", flush=True)
    print(f"| a journal entry | {await per_journal_entry():,.0f} |", flush=True)
    for name, scenario in by_name.items():
        print(f"| {'an' if name[0] in 'aeiou' else 'a'} {name} request (all it leaves: state, journal, outbox) | "
              f"{await per_request(scenario, args.memory_requests):,.0f} |", flush=True)
    print()
    print("| live codes | osm-send requests/s (in-process, sequential) |")
    print("|---:|---:|")
    for live in (0, *LIVE_CODES):
        print(f"| {live:,} | {await throughput(by_name['osm-send'], live, args.requests):,.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--requests", type=int, default=3000, help="requests per throughput row (default 3000)")
    options.add_argument("--memory-requests", type=int, default=2000,
                         help="requests per memory-per-request row (default 2000)")
    raise SystemExit(asyncio.run(main(options.parse_args())))
