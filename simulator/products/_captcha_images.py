"""Slider-captcha image pairs, drawn procedurally with Pillow from a seeded generator.

The background carries a darkened jigsaw-shaped hole; the jigsaw image is as tall as the
background, transparent except for the matching piece, so sliding its left edge to the hidden x
drops the piece into the hole. Same generator state, same images.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFilter

HOLE_BRIGHTNESS = 0.5  # the hole shows the background at half brightness
OUTLINE_RGBA = (255, 255, 255, 200)
SHAPE_COUNT = 14
NOISE_STRENGTH = 0.12  # fine grain, so no part of a piece is one flat colour


@dataclass(frozen=True)
class SliderCaptcha:
    background_png: bytes
    jigsaw_png: bytes
    x: int  # where the jigsaw image's left edge must go


def draw_slider_captcha(rng: random.Random, width: int, height: int, jigsaw_width: int) -> SliderCaptcha:
    background = _draw_background(rng, width, height)
    piece_mask = _jigsaw_mask(jigsaw_width)
    # Keep the hole clear of the slider's start position and inside the image.
    x = rng.randint(min(2 * jigsaw_width, width - jigsaw_width), width - jigsaw_width)
    top = rng.randint(0, height - jigsaw_width)

    full_mask = Image.new("L", (jigsaw_width, height), 0)
    full_mask.paste(piece_mask, (0, top))
    outline = ImageChops.subtract(full_mask, full_mask.filter(ImageFilter.MinFilter(3)))

    jigsaw = Image.new("RGBA", (jigsaw_width, height), (0, 0, 0, 0))
    jigsaw.paste(background.crop((x, 0, x + jigsaw_width, height)), (0, 0), full_mask)
    jigsaw.paste(Image.new("RGBA", jigsaw.size, OUTLINE_RGBA), (0, 0), outline)

    hole = Image.eval(background.crop((x, 0, x + jigsaw_width, height)), lambda v: int(v * HOLE_BRIGHTNESS))
    background.paste(hole, (x, 0), full_mask)
    background.paste(Image.new("RGB", jigsaw.size, OUTLINE_RGBA[:3]), (x, 0), outline)

    return SliderCaptcha(background_png=_png(background), jigsaw_png=_png(jigsaw), x=x)


def _random_colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))


def _draw_background(rng: random.Random, width: int, height: int) -> Image.Image:
    gradient = Image.linear_gradient("L").rotate(rng.uniform(0, 360)).resize((width, height))
    canvas = Image.composite(
        Image.new("RGB", (width, height), _random_colour(rng)),
        Image.new("RGB", (width, height), _random_colour(rng)),
        gradient,
    ).convert("RGBA")

    shapes = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(shapes)
    for _ in range(SHAPE_COUNT):
        fill = _random_colour(rng) + (rng.randint(90, 220),)
        x0, y0 = rng.randint(-width // 4, width), rng.randint(-height // 4, height)
        x1, y1 = x0 + rng.randint(20, width // 2), y0 + rng.randint(20, height // 2)
        kind = rng.choice(("ellipse", "rectangle", "polygon"))
        if kind == "ellipse":
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        elif kind == "rectangle":
            draw.rectangle((x0, y0, x1, y1), fill=fill)
        else:
            corners = [(rng.randint(x0, x1), rng.randint(y0, y1)) for _ in range(rng.randint(3, 6))]
            draw.polygon(corners, fill=fill)
    canvas = Image.alpha_composite(canvas, shapes).convert("RGB")

    grain = Image.frombytes("L", (width, height), rng.randbytes(width * height)).convert("RGB")
    return Image.blend(canvas, grain, NOISE_STRENGTH)


def _jigsaw_mask(size: int) -> Image.Image:
    """A classic jigsaw piece in a size × size box: knobs on top and right, a socket on the left."""
    knob = max(2, size * 7 // 47)
    body_left, body_top = 1, knob + 1
    body_right, body_bottom = size - knob - 2, size - 2
    mid_x, mid_y = (body_left + body_right) // 2, (body_top + body_bottom) // 2

    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    draw.rectangle((body_left, body_top, body_right, body_bottom), fill=255)
    draw.ellipse((mid_x - knob, body_top - knob, mid_x + knob, body_top + knob), fill=255)
    draw.ellipse((body_right - knob, mid_y - knob, body_right + knob, mid_y + knob), fill=255)
    draw.ellipse((body_left - knob, mid_y - knob, body_left + knob, mid_y + knob), fill=0)
    return mask


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
