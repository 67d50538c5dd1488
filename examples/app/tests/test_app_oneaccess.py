"""Sign-in by SMS through OneAccess: the user slides the captcha piece home, then gets a code."""

import io

import pytest
from PIL import Image

from otp_app.errors import OtpError, RateLimited

MOBILE = "12345678901"
WHITE = (255, 255, 255)
SMS_DOWN = {"name": "sms-down",
            "rules": [{"match": {"operation": "oneaccess.SendSmsVerifyCode"}, "error": "COMMON.0003"}]}


def slide_to_the_hole(captcha) -> int:
    """What the user does by eye: the x where the piece's white outline covers the hole's white outline."""
    piece = Image.open(io.BytesIO(captcha.piece_png)).convert("RGBA")
    background = Image.open(io.BytesIO(captcha.background_png)).convert("RGB")
    outline = [(i, j) for j in range(piece.height) for i in range(piece.width)
               if piece.getpixel((i, j))[3] and piece.getpixel((i, j))[:3] == WHITE]
    pixels = background.load()

    def on_the_outline(x):
        return sum(pixels[x + i, j] == WHITE for i, j in outline)

    return max(range(background.width - piece.width + 1), key=on_the_outline)


def captcha_token(oneaccess, mobile=MOBILE) -> str:
    captcha = oneaccess.captcha()
    return oneaccess.pass_captcha(captcha.token, slide_to_the_hole(captcha), mobile)


def test_past_the_captcha_the_user_gets_a_code(otpsim, oneaccess):
    oneaccess.send(MOBILE, captcha_token(oneaccess))
    message = otpsim.outbox.latest(MOBILE)
    assert message.channel == "sms" and message.code in message.text


def test_a_piece_left_short_of_the_hole_fails_and_spends_the_captcha(oneaccess):
    captcha = oneaccess.captcha()
    with pytest.raises(OtpError) as missed:
        oneaccess.pass_captcha(captcha.token, slide_to_the_hole(captcha) - 20, MOBILE)
    assert missed.value.code == "CAPTCHA.0002"
    with pytest.raises(OtpError) as spent:
        oneaccess.pass_captcha(captcha.token, slide_to_the_hole(captcha), MOBILE)
    assert spent.value.code == "CAPTCHA.0003"


def test_a_second_code_within_a_minute_waits_for_the_clock(otpsim, oneaccess):
    oneaccess.send(MOBILE, captcha_token(oneaccess))
    second = captcha_token(oneaccess)
    with pytest.raises(RateLimited) as limited:
        oneaccess.send(MOBILE, second)
    assert limited.value.code == "SMS.0001"
    otpsim.clock.advance(60)
    oneaccess.send(MOBILE, second)   # a refused send did not spend the captcha token
    assert len(otpsim.outbox.list(to=MOBILE)) == 2


def test_a_captcha_left_two_minutes_expires(otpsim, oneaccess):
    captcha = oneaccess.captcha()
    otpsim.clock.advance(120)
    with pytest.raises(OtpError) as expired:
        oneaccess.pass_captcha(captcha.token, slide_to_the_hole(captcha), MOBILE)
    assert expired.value.code == "CAPTCHA.0001"


@pytest.mark.otpsim(scenario=["default", SMS_DOWN])
def test_an_sms_outage_reaches_the_app_as_the_documented_error(oneaccess):
    with pytest.raises(OtpError) as refused:
        oneaccess.send(MOBILE, captcha_token(oneaccess))
    assert refused.value.code == "COMMON.0003"
