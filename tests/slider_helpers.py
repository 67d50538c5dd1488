"""The slider solver the oneaccess and meeting tests share: the x where the piece fits its hole,
found in the images alone (the recipe of docs/products/oneaccess.md)."""

import base64
import io

from PIL import Image, ImageFilter


def image(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def solve(captcha: dict) -> int:
    """The x where the jigsaw piece fits its hole, found in the images alone (the recipe of
    docs/products/oneaccess.md): the hole is the piece's own pixels at half brightness."""
    background = image(captcha["originalImageBase64"]).convert("L")
    piece = image(captcha["jigsawImageBase64"])
    # Opaque pixels, minus the 1-px outline drawn around both the piece and the hole.
    inside = piece.getchannel("A").point(lambda a: 255 if a == 255 else 0).filter(ImageFilter.MinFilter(5))
    piece_px, background_px = piece.convert("L").load(), background.load()
    points = [(i, j) for j in range(piece.height) for i in range(piece.width) if inside.getpixel((i, j))]

    def mismatch(x):
        return sum(abs(background_px[x + i, j] - piece_px[i, j] / 2) for i, j in points)

    return min(range(background.width - piece.width + 1), key=mismatch)
