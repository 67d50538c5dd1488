"""Scenario match regexes run on RE2: linear time in the value, whatever the pattern, so no rule
can stall the server (a backtracking engine took 16 s on `^(a+)+$` and 30 characters)."""

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False   # a pattern RE2 refuses is reported to the scenario author, not logged


def compile_regex(pattern: str):
    """`pattern` compiled by RE2; re2.error when RE2 cannot compile it."""
    return re2.compile(pattern, _OPTIONS)
