"""The simulated world: everything that remembers, on one clock."""

import random

from simulator.core.world.callbacks import Callbacks
from simulator.core.world.clock import Clock
from simulator.core.world.codes import CodeBook
from simulator.core.world.credentials import Credentials
from simulator.core.world.events import Events
from simulator.core.world.journal import Journal, Secrets
from simulator.core.world.outbox import Outbox
from simulator.core.world.profiles import Profiles
from simulator.core.world.receipts import Receipts
from simulator.core.world.scheduler import Scheduler
from simulator.core.world.store import KEPT_ON_RESET, MemoryStore


class World:
    def __init__(self, products: dict, scenario, seed: int = 0, journal_capacity: int = 10_000,
                 outbox_capacity: int = 10_000):
        self.products = products
        self.seed = seed
        self.events = Events()
        self.clock = Clock()
        self.clock.on_change(self._clock_moved)
        self.scheduler = Scheduler(self.clock)
        secrets = Secrets(name for product in products.values() for name in product.secrets)
        self.journal = Journal(journal_capacity, self.events, secrets)
        self.outbox = Outbox(self.clock, outbox_capacity, self.events)
        self.rng = random.Random(seed)
        # fault decisions and delays draw from their own stream, so adding a rule changes no code or id
        self.scenario_rng = random.Random(f"scenario/{seed}")
        self.callbacks = Callbacks(self.clock, self.scheduler, self.scenario_rng, secrets, events=self.events)
        self.store = MemoryStore(self.clock)
        self.codes = CodeBook(self.store, self.clock, self.rng)
        self.receipts = Receipts(self.store, self.clock, self.scheduler, self.callbacks)
        self.profiles = Profiles(seed)
        self.use_scenario(scenario)

    def use_scenario(self, scenario):
        self.scenario = scenario
        self.credentials = Credentials(scenario.credentials)
        self.settings = {
            name: {**product.setting_defaults(), **(scenario.product_settings.get(name) or {})}
            for name, product in self.products.items()
        }
        self.scenario_changed()

    def scenario_changed(self):
        if self.events.listening:
            self.events.publish("scenario", {"name": self.scenario.name})

    def _clock_moved(self):
        if self.events.listening:
            self.events.publish("clock", self.clock.describe())

    def reset(self):
        """Forget codes, outbox, journal, limits and calls; keep scenario, credentials, issued tokens
        and clock mode."""
        self.scheduler.clear()
        self.callbacks.clear()
        self.receipts.clear()
        self.journal.clear()
        self.outbox.clear()
        self.store.clear(keep=KEPT_ON_RESET)
        self.reseed(self.seed)
        self.scenario.reset_counters()
        if self.events.listening:
            self.events.publish("reset", {})

    def reseed(self, seed: int):
        """Codes, ids, fault decisions and delays start over from `seed`."""
        self.seed = seed
        self.profiles.seed = seed
        self.rng.seed(seed)
        self.scenario_rng.seed(f"scenario/{seed}")
