"""Profile-like values a vendor's answer carries and the scenario did not set: people's names, account names.

Made by Faker, seeded by the run's seed and the identity they belong to, so the same user gets the
same name on every answer, whatever the order of requests, and a run with the same seed gets the
same names (`--seed`).
"""


class Profiles:
    def __init__(self, seed: int):
        self.seed = seed
        self._fakers = {}

    def _faker(self, locale: str, identity: str):
        faker = self._fakers.get(locale)
        if faker is None:
            from faker import Faker  # deferred: its import is a fifth of a second, and many runs need no name

            faker = self._fakers[locale] = Faker(locale)
        faker.seed_instance(f"{self.seed}/{identity}")
        return faker

    def person_name(self, identity: str, locale: str = "zh_CN") -> str:
        """A person's display name for `identity` (e.g. 王文)."""
        return self._faker(locale, identity).name()

    def account_name(self, identity: str) -> str:
        """An account or login name for `identity`, ASCII (e.g. jing85)."""
        return self._faker("en_US", identity).user_name()
