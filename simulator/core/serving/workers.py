"""`otpsim serve --workers N`: N processes serving the same sockets, one world in the shared store.

The simulator is built and the sockets bound once, here; each worker is a fork that runs its own
event loop on them (the kernel spreads the connections). A worker that dies is replaced; its due
jobs run on the others once their leases lapse (core/world/redis_scheduler.py). SIGINT or SIGTERM
stops every worker gracefully.
"""

import os
import signal
import sys


def run_workers(serve, count: int):
    """Run `serve()` in `count` forked workers until stopped; replace a worker that dies."""
    workers: set[int] = set()
    stopping = False

    def start_worker():
        pid = os.fork()
        if pid == 0:   # the worker: serve, then leave without running the parent's clean-up
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            code = 0
            try:
                serve()
            except KeyboardInterrupt:
                pass
            except BaseException:
                code = 1
                raise
            finally:
                os._exit(code)
        workers.add(pid)

    def stop(*_):
        nonlocal stopping
        stopping = True
        for pid in workers:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for _ in range(count):
            start_worker()
        while workers:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            workers.discard(pid)
            if not stopping:
                print(f"otpsim: worker {pid} ended ({_how(status)}); starting another", file=sys.stderr, flush=True)
                start_worker()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit {os.WEXITSTATUS(status)}"
