"""Scenario match regexes run on RE2: linear time in the value, whatever the pattern, so no rule
can stall the server (a backtracking engine took 16 s on `^(a+)+$` and 30 characters). RE2 is
loaded with the first regex (2.5 MB a server with none would hold for nothing)."""

from functools import cache


class RegexError(ValueError):
    """A pattern RE2 cannot compile; the message says why."""


@cache
def _engine():
    import re2

    options = re2.Options()
    options.log_errors = False   # a pattern RE2 refuses is reported to the scenario author, not logged
    return re2, options


def compile_regex(pattern: str):
    """`pattern` compiled by RE2; RegexError when RE2 cannot compile it."""
    re2, options = _engine()
    try:
        return re2.compile(pattern, options)
    except re2.error as problem:
        reason = problem.args[0] if problem.args else ""
        raise RegexError(reason.decode() if isinstance(reason, bytes) else str(reason)) from None
