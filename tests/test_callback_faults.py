"""Callback faults from scenario rules (duplicate, out of order, delayed, dropped), a bounded queue,
and a receiver that hangs without holding up the API or other calls."""

import socket
import threading

import pytest

from voice_helpers import advance, b64, call_verify, deliveries, place, use_scenario, verify_body

pytestmark = pytest.mark.both_stores   # the same behaviour in memory and on Redis

ORDER = ["callout", "alerting", "answer", "disconnect"]


def faults_rule(**callbacks) -> list:
    return [{"name": "push-faults", "match": {"operation": "voice.CallVerify"}, "callbacks": callbacks}]


def play_out(client, seconds=40, step=1):
    for _ in range(0, seconds, step):
        advance(client, step)


def test_dropped_status_pushes_never_arrive_and_are_listed_as_dropped(client, receiver, world):
    use_scenario(client, rules=faults_rule(drop=1.0, kinds=["voice.status"]))
    place(client, world())
    play_out(client)
    assert receiver.events() == []
    assert len(receiver.bodies("/fee")) == 1
    status = deliveries(client, "voice.status")
    assert [d["state"] for d in status] == ["dropped"] * 4
    assert status[0]["attempts"][0]["dropped"] == "scenario: drop"


def test_duplicated_pushes_arrive_twice_in_order(client, receiver, world):
    use_scenario(client, rules=faults_rule(duplicate=1.0))
    place(client, world())
    play_out(client)
    assert receiver.events() == [event for event in ORDER for _ in range(2)]
    assert len(receiver.bodies("/fee")) == 2
    twins = [d for d in deliveries(client, "voice.status") if d["duplicate_of"] is not None]
    assert len(twins) == 4


def test_delayed_pushes_arrive_only_after_the_delay(client, receiver, world):
    use_scenario(client, rules=faults_rule(delay_s=120))
    place(client, world())
    play_out(client, seconds=60)
    assert receiver.events() == []
    play_out(client, seconds=120, step=10)
    assert receiver.events() == ORDER


def test_out_of_order_pushes_overtake_each_other_deterministically(client, receiver, world):
    use_scenario(client, rules=faults_rule(out_of_order_s=600, kinds=["voice.status"]))
    place(client, world())
    play_out(client, seconds=700, step=10)
    arrived = receiver.events()
    assert sorted(arrived) == sorted(ORDER)
    assert arrived != ORDER        # the seeded draws reorder this call's events


def test_callbacks_rule_key_is_checked(client):
    refused = client.put("/__otpsim/scenario", content=b"rules:\n  - match: {operation: voice.CallVerify}\n"
                                                       b"    callbacks: {dupe: 1}\n")
    assert refused.status_code == 400


def test_a_hanging_receiver_holds_up_neither_the_api_nor_other_calls(client, receiver, world):
    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(8)
    held = []
    stop = threading.Event()

    def accept_and_say_nothing():
        hanging.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(hanging.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept_and_say_nothing, daemon=True)
    thread.start()
    use_scenario(client, settings={"push_timeout_s": 0.2})   # the stuck push gives up quickly
    try:
        dead_url = b64(f"http://127.0.0.1:{hanging.getsockname()[1]}/status")
        stuck = call_verify(client, verify_body("+8613800000011", statusUrl=dead_url))
        assert stuck.status_code == 200
        place(client, world(callee="+8613800000012"))
        advance(client, 0)
        fine = call_verify(client, verify_body("+8613800000013"))
        assert fine.status_code == 200
        play_out(client, seconds=30, step=10)
        assert receiver.events() == ORDER
    finally:
        stop.set()
        thread.join(2)
        for connection in held:
            connection.close()
        hanging.close()


def test_the_delivery_queue_is_bounded(sim):
    import asyncio
    from simulator.core.world.callbacks import Callbacks, RetryPolicy
    from simulator.core.world.log import MemoryLog

    async def overflow():
        world = sim.world
        callbacks = Callbacks(world.clock, world.scheduler, MemoryLog(10), max_pending=3)
        made = [await callbacks.record("voice.status", "http://127.0.0.1:9/x", {}, {}, RetryPolicy()) for _ in range(5)]
        await callbacks.send(made[-1])
        return made[-1].state, made[-1].attempts[-1]

    state, attempt = asyncio.run(overflow())
    assert state == "dropped" and attempt["dropped"] == "queue full"


def test_concurrent_calls_each_push_their_events_in_order(client, receiver, world):
    sessions = [place(client, world(callee=f"+86138000001{n:02d}")) for n in range(8)]
    play_out(client)
    by_call = {session: [] for session in sessions}
    for body in receiver.bodies("/status"):
        by_call[body["statusInfo"]["sessionId"]].append(body["eventType"])
    assert all(events == ORDER for events in by_call.values())
    assert sorted(r["sessionId"] for body in receiver.bodies("/fee") for r in body["feeLst"]) == sorted(sessions)
