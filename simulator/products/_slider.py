"""The slider-captcha lifecycle the products with a slider share (oneaccess GetCaptcha and
ValidateCaptcha, meeting SendSlideVerifyCode and CheckSlideVerifyCode): a captcha drawn from the
seeded generator hides an x behind a token; the first check spends the token, pass or fail (the
AJ-Captcha behaviour, see openapi/oneaccess.yaml, ValidateCaptcha), and a second check of it is told
apart from an unknown one.
"""


class Sliders:
    def __init__(self, namespace: str):
        self._live = namespace                      # token -> (hidden x, holder)
        self._checked = f"{namespace}-checked"      # token -> True once checked

    async def issue(self, call, width: int, height: int, piece_width: int, ttl_s: float, holder=None):
        """(token, SliderCaptcha); `holder` (e.g. the user it was asked for) comes back from take()."""
        from simulator.products._captcha_images import draw_slider_captcha  # Pillow on first use: most runs never need it

        world = call.world
        rng = await world.draw(f"{self._live}.captcha", holder if isinstance(holder, str) else "")
        captcha = draw_slider_captcha(rng, width, height, piece_width)
        token = f"{rng.getrandbits(128):032x}"
        await world.store.put(self._live, token, (captcha.x, holder), ttl=ttl_s)
        return token, captcha

    async def take(self, call, token: str, ttl_s: float):
        """(hidden x, holder) of a live captcha, which is spent by this; None when unknown, expired or used."""
        store = call.world.store
        issued = await store.pop(self._live, token)
        if issued is not None:
            await store.put(self._checked, token, True, ttl=ttl_s)
        return issued

    async def used(self, call, token: str) -> bool:
        return bool(await call.world.store.get(self._checked, token))
