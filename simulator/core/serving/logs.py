"""The server's log: one line per request, written without a system call per line."""

import asyncio
import logging
import sys

FORMAT = "%(asctime)s %(name)s %(message)s"


class OncePerLoopStepHandler(logging.StreamHandler):
    """Lines go to a buffer over stderr that is flushed once per event-loop step: a burst of
    requests costs one write, not one per line (stderr itself is line-buffered). Outside a
    running loop — start-up, shutdown — a line is written at once."""

    def __init__(self):
        super().__init__(open(sys.stderr.fileno(), "w", buffering=1 << 16, encoding="utf-8",
                              errors="backslashreplace", closefd=False))
        self._flush_due = False

    def flush(self):
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            super().flush()
            return
        if not self._flush_due:
            self._flush_due = True
            loop.call_soon(self._flush_now)

    def _flush_now(self):
        self._flush_due = False
        super().flush()


class SecondCachedFormatter(logging.Formatter):
    """asctime formatted once per second, not once per line."""

    def __init__(self, fmt: str):
        super().__init__(fmt)
        self._second, self._text = None, ""

    def formatTime(self, record, datefmt=None):
        second = int(record.created)
        if second != self._second:
            self._second, self._text = second, super().formatTime(record, datefmt)[:-4]
        return f"{self._text},{int(record.msecs):03d}"


def configure(per_request: bool):
    """WARNING and up from every logger; otpsim's line per request when `per_request`."""
    # The logging HOWTO's "Optimization": no record carries what the format does not show, and
    # no caller lookup (a stack walk per line).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = OncePerLoopStepHandler()
    handler.setFormatter(SecondCachedFormatter(FORMAT))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    logging.getLogger("otpsim").setLevel(logging.INFO if per_request else logging.WARNING)
