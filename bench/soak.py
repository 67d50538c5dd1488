"""Soak: a million codes sent over advancing virtual time leave memory bounded.

Drives a Simulator in-process (its ASGI app, no sockets) on a manual clock with the signed
requests of bench/run.py's success scenarios in turn — osm SendVerifyCodes, voice CallVerify,
cams GetMigrationVerifyCode, each to a new contact — moving the clock on after every send and
letting due call events play out. Every few sends it prints the store's entries per namespace,
journal and outbox sizes and resident memory; at the end it says whether the second half of the
run still grew. Once virtual time passes the longest retention (a code is remembered 5 min + 1 h
after it is sent) the store should hold steady while the journal and outbox stay at their caps.

With --store redis the world is kept in a redis-server the script starts (no persistence, stopped
at the end), and Redis's own memory (INFO's used_memory) and key count (DBSIZE) are reported and
judged too.

    python bench/soak.py [--codes 1000000] [--rate 2] [--reports 10] [--only osm-send] [--store redis]
"""

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from redis_server import running_redis
from run import SCENARIOS, bench_scenario_file, ensure_redis, free_port, is_correct, make_request, served_operations

from simulator.core.compose import create_simulator

SOAKED = ("osm-send", "voice-callverify", "cams-getcode")
SETTLE_EVERY = 1000   # sends between two plays of the due call events
GROWTH_ALLOWED = 1.1  # the second half may end at most 10% above the half-way mark ...
GROWTH_SLACK = 100    # ... plus this many entries, so a namespace of a handful is not "growing"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc status")


def scope_of(request) -> dict:
    target = request.path.encode()
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "http",
        "method": request.method, "path": request.path, "raw_path": target, "root_path": "",
        "query_string": request.query.encode(),
        "headers": [(k.encode(), v.encode()) for k, v in request.headers.items()]
                   + [(b"content-length", str(len(request.body)).encode())],
        "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8080),
    }


async def send_one(sim, request) -> tuple[int, bytes]:
    answer = {}

    async def receive():
        return {"type": "http.request", "body": request.body, "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        else:
            answer["body"] = answer.get("body", b"") + message.get("body", b"")

    await sim(scope_of(request), receive, send)
    return answer["status"], answer.get("body", b"")


async def snapshot(world, sent: int, started: float, virtual_start: float) -> dict:
    namespaces = await world.store.sizes()
    row = {
        "sent": sent, "virtual_h": (world.clock.now() - virtual_start) / 3600, "wall_s": time.perf_counter() - started,
        "store": sum(namespaces.values()), "namespaces": namespaces, "journal": len(await world.journal.list()),
        "outbox": len(await world.outbox.list()), "scheduled": await scheduled(world), "rss_mb": rss_mb(),
    }
    if world.shared:
        client = world.backend.client
        row["redis_mb"] = (await client.info("memory"))["used_memory"] / 2**20
        row["redis_keys"] = await client.dbsize()
    return row


async def scheduled(world) -> int:
    """Jobs waiting or running; on Redis, the entries of its jobs hash (core/world/redis_scheduler.py's layout)."""
    if not world.shared:
        return len(world.scheduler)
    from simulator.core.world.redis_store import hash_tag

    return await world.backend.client.hlen(f"{hash_tag(world.backend.prefix)}:sched:jobs")


def print_header(on_redis: bool):
    redis = (" Redis MB | Redis keys |", "---:|---:|") if on_redis else ("", "")
    print(f"| sent | virtual h | wall s | store | journal | outbox | sched | RSS MB |{redis[0]} largest namespaces |")
    print(f"|---:|---:|---:|---:|---:|---:|---:|---:|{redis[1]}---|")


def print_row(row: dict):
    biggest = sorted(row["namespaces"].items(), key=lambda item: -item[1])[:4]
    spaces = ", ".join(f"{name} {size}" for name, size in biggest)
    redis = f" {row['redis_mb']:8.1f} | {row['redis_keys']:>10} |" if "redis_mb" in row else ""
    print(f"| {row['sent']:>9} | {row['virtual_h']:6.1f} | {row['wall_s']:6.0f} | {row['store']:>7} | "
          f"{row['journal']:>6} | {row['outbox']:>6} | {row['scheduled']:>5} | {row['rss_mb']:6.1f} |{redis} {spaces} |",
          flush=True)


async def soak(args, backend) -> int:
    """Soak a simulator on `backend` (None: the world in memory)."""
    served = served_operations()
    scenarios = [s for s in SCENARIOS if s.name in (args.only or SOAKED) and s.operation in served]
    with tempfile.TemporaryDirectory(prefix="otpsim-soak-") as scratch:
        sim = create_simulator([str(bench_scenario_file(scenarios, Path(scratch)))], backend=backend)
    world = sim.world
    await world.backend.start(world)
    try:
        return await soak_world(sim, scenarios, args)
    finally:
        await world.scheduler.close()
        await world.callbacks.close()
        await world.backend.close()


async def soak_world(sim, scenarios: list, args) -> int:
    world = sim.world
    await world.move_clock(mode="manual")   # through the world: on Redis every part reads the shared clock
    step = 1 / args.rate
    every = max(args.codes // args.reports, 1)
    print(f"soak: {args.codes} sends at {args.rate:g} per virtual second, in turn: "
          f"{', '.join(s.name for s in scenarios)}; world in {args.store}; RSS at start {rss_mb():.1f} MB")
    print_header(world.shared)
    started, virtual_start = time.perf_counter(), world.clock.now()
    rows, wrong = [], 0
    for n in range(1, args.codes + 1):
        scenario = scenarios[n % len(scenarios)]
        status, body = await send_one(sim, make_request(scenario, n, 8080, now=world.clock.now()))
        if not is_correct(scenario.expect_status, scenario.expect_body, status, body):
            wrong += 1
            if wrong == 1:
                print(f"first wrong answer ({scenario.name}): {status} {body[:200]!r}", file=sys.stderr)
        await world.move_clock(seconds=step)
        if n % SETTLE_EVERY == 0:
            await world.scheduler.settle()
        if n % every == 0 or n == args.codes:
            rows.append(await snapshot(world, n, started, virtual_start))
            print_row(rows[-1])
    await world.scheduler.clear()

    half = next(row for row in rows if row["sent"] >= args.codes // 2)
    last = rows[-1]
    judged = [("store", GROWTH_SLACK), ("journal", GROWTH_SLACK), ("outbox", GROWTH_SLACK), ("rss_mb", 0)]
    if world.shared:
        judged.append(("redis_mb", 0))
    grew = [f"{key} {half[key]:.0f} -> {last[key]:.0f}" for key, slack in judged
            if last[key] > half[key] * GROWTH_ALLOWED + slack]
    growing = [f"{name} {half['namespaces'].get(name, 0)} -> {size}" for name, size in last["namespaces"].items()
               if size > half["namespaces"].get(name, 0) * GROWTH_ALLOWED + GROWTH_SLACK]
    print(f"peak RSS over the run {max(row['rss_mb'] for row in rows):.1f} MB; wrong answers: {wrong}")
    if grew or growing:
        print("still growing in the second half: " + "; ".join(grew + growing))
    else:
        held = "store, journal, outbox, RSS and Redis's memory" if world.shared else "store, journal, outbox and RSS"
        print(f"bounded: from {half['sent']} to {last['sent']} sends {held} held steady")
    return 1 if wrong or grew else 0


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--codes", type=int, default=1_000_000, help="sends in all (default 1000000)")
    # 2 a second: a million sends span 139 virtual hours, several times the longest window (a cams
    # number's record, a day), so the second half shows whether memory holds steady
    options.add_argument("--rate", type=float, default=2, help="sends per virtual second (default 2)")
    options.add_argument("--reports", type=int, default=10, help="progress rows (default 10)")
    options.add_argument("--only", action="append", choices=SOAKED, metavar="SCENARIO",
                         help=f"send only this scenario's requests (repeatable; default all of {', '.join(SOAKED)})")
    options.add_argument("--store", choices=("memory", "redis"), default="memory",
                         help="where the world is kept: this process's memory (default), or a redis-server the "
                              "soak starts")
    args = options.parse_args()
    if args.store == "memory":
        return asyncio.run(soak(args, None))
    executable = ensure_redis()
    if executable is None:
        print("cannot soak the world in Redis", file=sys.stderr)
        return 1
    from simulator.core.world.redis_backend import RedisBackend   # needs redis-py, only here

    with running_redis(executable, free_port()) as redis:
        return asyncio.run(soak(args, RedisBackend(redis.url, "soak")))


if __name__ == "__main__":
    sys.exit(main())
