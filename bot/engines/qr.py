"""QR codes the bot makes (tickets, posters) and reads (a photo of a ticket at the door).

Always a standard QR code (`micro=False`): phone camera apps and most scanners read standard
QR only, and `segno.make` would pick a Micro QR for a short text. Modules are drawn large
(`scale` pixels, with the four-module quiet zone the standard asks for), so a ticket shown on
a phone screen scans from arm's length.

Reading uses zxing-cpp, a maintained C++ decoder with Python bindings shipped as wheels (no
system library to install, unlike zbar), which finds codes in skewed, blurred or
JPEG-compressed photos such as the ones Telegram delivers.
"""

from __future__ import annotations

import io

import segno
import zxingcpp
from PIL import Image, UnidentifiedImageError

TICKET_SCALE = 16  # pixels per module: a version-1 code is 29 modules, 464 px with its border
QUIET_ZONE = 4
MAX_PIXELS = 40_000_000  # larger images are refused rather than decoded
QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def qr_code(text: str) -> segno.QRCode:
    """A standard (never Micro) QR code, error correction at least M (raised when it fits)."""
    return segno.make(text, error="m", micro=False)


def qr_png(text: str, *, scale: int = TICKET_SCALE) -> bytes:
    buffer = io.BytesIO()
    qr_code(text).save(buffer, kind="png", scale=scale, border=QUIET_ZONE)
    return buffer.getvalue()


def read_qr(image: bytes) -> list[str]:
    """The texts of the QR codes found in an image (PNG, JPEG...); empty if none or unreadable."""
    try:
        with Image.open(io.BytesIO(image)) as opened:
            if opened.width * opened.height > MAX_PIXELS:
                return []
            picture = opened.convert("L")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return []
    found = zxingcpp.read_barcodes(picture, formats=QR_ONLY)
    return [code.text for code in found if code.valid and code.text]
