"""The simulated world: everything that remembers, on one clock.

Its parts keep their state through a backend: in this process's memory (the default), or in Redis
(core/world/redis_backend.py), where several workers and hosts share one world.
"""

from simulator.core.world.callbacks import Callbacks
from simulator.core.world.clock import Clock
from simulator.core.world.codes import CodeBook
from simulator.core.world.credentials import Credentials
from simulator.core.world.draw import Draw
from simulator.core.world.events import Events
from simulator.core.world.journal import Journal, Secrets
from simulator.core.world.log import MemoryLog
from simulator.core.world.outbox import Outbox
from simulator.core.world.profiles import Profiles
from simulator.core.world.receipts import Receipts
from simulator.core.world.scheduler import Scheduler
from simulator.core.world.store import KEPT_ON_RESET, MemoryStore

DRAWS = "draws"
DRAWS_TTL_S = 86_400   # a subject's draw count is forgotten a day after its last draw


class MemoryBackend:
    """The world in this process: nothing shared, nothing to connect to."""

    shared = False

    def store(self, clock):
        return MemoryStore(clock)

    def log(self, name: str, capacity: int):
        return MemoryLog(capacity)

    def scheduler(self, clock):
        return Scheduler(clock)

    async def start(self, world):
        pass

    async def refresh(self, world):
        pass

    async def clock_moved(self, world):
        pass

    async def next_generation(self, world) -> int:
        return world.generation + 1

    async def scenario_put(self, world):
        pass

    async def close(self):
        pass


class World:
    def __init__(self, products: dict, scenario, seed: int = 0, journal_capacity: int = 10_000,
                 outbox_capacity: int = 10_000, backend=None):
        self.products = products
        self.seed = seed
        self.backend = backend = backend or MemoryBackend()
        self.shared = backend.shared
        self.events = Events()
        self.clock = Clock()
        self.clock.on_change(self._clock_moved)
        self.store = backend.store(self.clock)
        self.scheduler = backend.scheduler(self.clock)
        self.scheduler.world = self
        secrets = Secrets(name for product in products.values() for name in product.secrets)
        self.journal = Journal(backend.log("journal", journal_capacity), self.events, secrets)
        self.outbox = Outbox(self.clock, backend.log("outbox", outbox_capacity), self.events, announce=self.shared)
        self.callbacks = Callbacks(self.clock, self.scheduler, backend.log("deliveries", 10_000), secrets,
                                   events=self.events)
        self.callbacks.world = self
        self.codes = CodeBook(self.store, self.clock, seed)
        self.receipts = Receipts(self.store, self.scheduler)
        self.profiles = Profiles(seed)
        self.generation = 0
        self.use_scenario(scenario)

    async def draw(self, kind: str, subject="") -> Draw:
        """A generator for the next value of `kind` about `subject` (a contact, a product, a rule):
        seeded by (seed, kind, subject, n), n counting the draws for it, so concurrent requests about
        other subjects, here or on another worker, never change what this one gets."""
        n = await self.store.incr(DRAWS, (kind, subject), ttl=DRAWS_TTL_S)
        return Draw(f"{self.seed}/{kind}/{subject}/{n}")

    def use_scenario(self, scenario, generation: int | None = None):
        """`scenario` in force; its rules count afresh (a shared world names the generation)."""
        self.generation = self.generation + 1 if generation is None else generation
        scenario.generation = self.generation
        self.scenario = scenario
        self.credentials = Credentials(scenario.credentials)
        self.settings = {
            name: {**product.setting_defaults(), **(scenario.product_settings.get(name) or {})}
            for name, product in self.products.items()
        }
        self.scenario_changed()

    async def put_scenario(self, scenario, seed: int | None = None):
        """`scenario` in force at once, here and, on a shared world, on every worker (its seed too, if given)."""
        self.use_scenario(scenario, await self.backend.next_generation(self))
        if seed is not None:
            self.reseed(seed)
        await self.backend.scenario_put(self)

    async def prepend_rule(self, spec: dict):
        """One rule in force before all others; theirs keep their counters."""
        self.scenario.prepend(spec)
        self.scenario_changed()
        await self.backend.scenario_put(self)

    async def move_clock(self, mode: str | None = None, when: float | None = None, seconds: float | None = None):
        """Mode, then time, then a step, as one move: ValueError leaves the clock as it was. On a
        shared world every worker sees the move before this returns."""
        clock = self.clock
        before = clock.mode, clock.now()
        try:
            if mode is not None:
                clock.set_mode(mode)
            if when is not None:
                clock.set(when)
            if seconds is not None:
                clock.advance(seconds)
        except ValueError:
            clock.set_mode(before[0])
            clock.set(before[1])
            raise
        await self.backend.clock_moved(self)

    def scenario_changed(self):
        if self.events.listening:
            self.events.publish("scenario", {"name": self.scenario.name})

    def _clock_moved(self):
        if self.events.listening:
            self.events.publish("clock", self.clock.describe())

    async def reset(self):
        """Forget codes, outbox, journal, limits and calls; keep scenario, credentials, issued tokens
        and clock mode."""
        await self.scheduler.clear()
        await self.callbacks.clear()
        await self.journal.clear()
        await self.outbox.clear()
        await self.store.clear(keep=KEPT_ON_RESET)   # with the draw counts and the rules' counters
        self.reseed(self.seed)
        if self.events.listening:
            self.events.publish("reset", {})

    def reseed(self, seed: int):
        """Codes, ids, fault decisions and delays start over from `seed`."""
        self.seed = seed
        self.profiles.seed = seed
        self.codes.seed = seed
