"""Synthetic inputs for the face-engine tests: encoded images, crafted headers, 68-point faces."""

from __future__ import annotations

import io
import math
import struct
import zlib

import numpy as np
import numpy.typing as npt
from PIL import Image

# Half the distance between the jaw ends (points 0 and 16) of the synthetic face; head_yaw is the
# nose offset divided by this.
HALF_FACE = 50.0
_EYE_WIDTH = 20.0
_MOUTH_WIDTH = 40.0


def encode(image: npt.NDArray[np.uint8] | Image.Image, fmt: str, **params: object) -> bytes:
    pil = image if isinstance(image, Image.Image) else Image.fromarray(image)
    buffer = io.BytesIO()
    pil.save(buffer, fmt, **params)
    return buffer.getvalue()


def gradient_image(width: int = 120, height: int = 80) -> npt.NDArray[np.uint8]:
    """An image whose every pixel differs from its neighbours, so orientation mistakes show."""
    y, x = np.mgrid[0:height, 0:width]
    red = (x * 255 // max(width - 1, 1)).astype(np.uint8)
    green = (y * 255 // max(height - 1, 1)).astype(np.uint8)
    blue = np.full((height, width), 90, dtype=np.uint8)
    return np.dstack([red, green, blue])


def png_with_header_size(width: int, height: int) -> bytes:
    """A valid-looking PNG of a few dozen bytes whose IHDR claims ``width`` x ``height`` RGB."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def synthetic_landmarks(
    *,
    ear: float = 0.3,
    mar: float = 0.0,
    yaw: float = 0.0,
    roll_degrees: float = 0.0,
    scale: float = 1.0,
    centre: tuple[float, float] = (320.0, 240.0),
) -> npt.NDArray[np.float32]:
    """A 68-point iBUG face (image coordinates, y down) built so that its eye aspect ratio, mouth
    aspect ratio and nose offset are exactly the given values; roll and scale must not change
    any of the three measures."""
    pts = np.zeros((68, 2), dtype=np.float64)
    # Jaw 0..16: from the subject's right temple (image left) round the chin to the left temple.
    for k in range(17):
        angle = math.pi * k / 16
        pts[k] = (-HALF_FACE * math.cos(angle), 60.0 * math.sin(angle))
    pts[17:22] = [(-40 + 7 * i, -18.0) for i in range(5)]  # right eyebrow
    pts[22:27] = [(12 + 7 * i, -18.0) for i in range(5)]  # left eyebrow
    pts[27:31] = [(0.0, -8.0 + 11 * i) for i in range(4)]  # nose bridge down to the tip (30)
    pts[30, 0] = yaw * HALF_FACE
    pts[31:36] = [(-10 + 5 * i, 30.0) for i in range(5)]  # nostrils
    # Eyes, 6 points each from the first corner: EAR = (|p2-p6| + |p3-p5|) / (2 |p1-p4|) and
    # both vertical pairs are 2h apart, so EAR = 2h / width.
    h = ear * _EYE_WIDTH / 2
    for start, (cx, cy) in ((36, (-20.0, 0.0)), (42, (20.0, 0.0))):
        left, right = cx - _EYE_WIDTH / 2, cx + _EYE_WIDTH / 2
        pts[start : start + 6] = [
            (left, cy),
            (cx - 4, cy - h),
            (cx + 4, cy - h),
            (right, cy),
            (cx + 4, cy + h),
            (cx - 4, cy + h),
        ]
    # Mouth: corners 48 and 54 are 40 apart; the three inner pairs are 2m apart, MAR = 2m / 40.
    m = mar * _MOUTH_WIDTH / 2
    mouth_y = 40.0
    outer = [(-20, 0), (-12, -6), (-5, -8), (0, -7), (5, -8), (12, -6), (20, 0)]
    outer += [(12, 6 + 2 * m), (5, 8 + 2 * m), (0, 8 + 2 * m), (-5, 8 + 2 * m), (-12, 6 + 2 * m)]
    pts[48:60] = [(x, mouth_y + y) for x, y in outer]
    pts[60:68] = [
        (-15, mouth_y),
        (-7, mouth_y - m),
        (0, mouth_y - m),
        (7, mouth_y - m),
        (15, mouth_y),
        (7, mouth_y + m),
        (0, mouth_y + m),
        (-7, mouth_y + m),
    ]
    theta = math.radians(roll_degrees)
    rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    placed = pts @ rotation.T * scale + np.asarray(centre)
    return placed.astype(np.float32)
