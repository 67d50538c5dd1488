"""Work described as data: a module-level function and its arguments, run later with the world.

A scheduled job or a push signer is a Task rather than a closure, so it can be kept in the shared
store and run by whichever worker's turn it is (issue 16), and it never holds the world itself.
"""

import inspect
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True, slots=True)
class Task:
    func: Callable   # module-level: a worker finds it by name
    args: tuple = ()

    def __call__(self, world, *more):
        return self.func(world, *self.args, *more)


def task(func: Callable, *args) -> Task:
    if func.__qualname__ != func.__name__ or "<" in func.__qualname__:
        raise ValueError(f"{func.__qualname__}: a task runs a module-level function, so any worker can find it")
    return Task(func, args)


async def run(work, world, *more):
    """`work(world, *more)`, awaited when it is a coroutine."""
    result = work(world, *more)
    if inspect.isawaitable(result):
        result = await result
    return result
