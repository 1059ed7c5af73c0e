"""A standard QR reader for the tests: OpenCV's QRCodeDetector reads standard QR codes only
(like the camera apps of most phones), so a Micro QR code is not found."""

from __future__ import annotations

import cv2
import numpy as np


def decode_qr(png: bytes) -> str:
    """The text of the one QR code in the image, or "" when a standard reader finds none."""
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None, "not an image"
    text, points, _ = cv2.QRCodeDetector().detectAndDecode(image)
    return str(text) if points is not None else ""


def module_pixels(png: bytes) -> float:
    """The width of one QR module in pixels (from the finder pattern's 7-module width)."""
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    found, points = cv2.QRCodeDetector().detect(image)
    assert found, "no QR code"
    corners = points.reshape(-1, 2)
    side = float(np.linalg.norm(corners[1] - corners[0]))
    version_modules = 21  # at least; the caller compares with a lower bound
    return side / version_modules
