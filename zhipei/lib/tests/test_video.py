"""Tests for zhipei.lib.video: real encoding and decoding with PyAV, a few seconds of video."""

from pathlib import Path

import av
import pytest
from PIL import Image, ImageChops

from zhipei.lib import video
from zhipei.lib.video import ASCII_FALLBACK_TITLE, generate_lesson_video, probe_duration

SECONDS = 3
FPS = 15
WIDTH = 320
HEIGHT = 180
SHARED_20S = Path("/work/shared/testdata/video/lesson-20s.mp4")


@pytest.fixture(scope="module")
def lesson(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One small video for the whole module keeps the suite well under a second of encoding.
    path = tmp_path_factory.mktemp("video") / "lesson.mp4"
    generate_lesson_video(path, seconds=SECONDS, width=WIDTH, height=HEIGHT, fps=FPS)
    return path


def test_probe_duration_of_generated_video(lesson: Path) -> None:
    assert probe_duration(lesson) == pytest.approx(SECONDS, abs=0.2)


def test_probe_duration_accepts_str(lesson: Path) -> None:
    assert probe_duration(str(lesson)) == pytest.approx(SECONDS, abs=0.2)


def test_streams_are_browser_playable(lesson: Path) -> None:
    with av.open(str(lesson)) as container:
        assert container.format.name.startswith("mov,mp4")
        (stream,) = container.streams.video
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.codec_context.width, stream.codec_context.height) == (WIDTH, HEIGHT)
        assert len(container.streams.audio) <= 1
        for audio in container.streams.audio:
            assert audio.codec_context.name == "aac"
        if video.aac_encoder_available():
            assert len(container.streams.audio) == 1


def test_faststart_puts_index_before_media_data(lesson: Path) -> None:
    # Browsers can only start playing before the download ends if "moov" comes first.
    data = lesson.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")


def test_frame_count_matches_seconds_times_fps(lesson: Path) -> None:
    with av.open(str(lesson)) as container:
        packets = [p for p in container.demux(video=0) if p.size > 0]
    assert abs(len(packets) - SECONDS * FPS) <= 1


def test_burned_in_clock_changes_between_seconds(lesson: Path) -> None:
    with av.open(str(lesson)) as container:
        frames = [frame.to_image() for frame in container.decode(video=0)]
    start, same_second, two_seconds_in = frames[0], frames[FPS - 1], frames[2 * FPS]
    assert ImageChops.difference(start, two_seconds_in).getbbox() is not None
    # Within one second only compression noise may differ, never the clock.
    assert _max_difference(start, same_second) < _max_difference(start, two_seconds_in)


def test_no_temporary_files_left_behind(lesson: Path) -> None:
    assert [p.name for p in lesson.parent.iterdir()] == [lesson.name]


@pytest.mark.skipif(not SHARED_20S.exists(), reason="shared 20 s test video not present")
def test_probe_shared_20_second_video() -> None:
    assert probe_duration(SHARED_20S) == pytest.approx(20.0, abs=0.5)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param("这不是视频，只是一段文字。\n".encode() * 50, id="text"),
        pytest.param(b"\x00" * 4096, id="zeros"),
    ],
)
def test_unreadable_files_raise_value_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.mp4"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="^无法读取视频时长：") as excinfo:
        probe_duration(path)
    # The message may reach the uploader, so it must not reveal server paths.
    assert str(tmp_path) not in str(excinfo.value)


@pytest.mark.parametrize("keep", [0.01, 0.5, 0.99])
def test_truncated_video_raises_value_error(lesson: Path, tmp_path: Path, keep: float) -> None:
    # With +faststart the index survives truncation, so this also covers cut-off uploads
    # whose header still claims the full duration.
    data = lesson.read_bytes()
    path = tmp_path / "truncated.mp4"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match="^无法读取视频时长："):
        probe_duration(path)


@pytest.mark.skipif(not video.aac_encoder_available(), reason="no AAC encoder in this build")
def test_audio_only_file_raises_value_error(tmp_path: Path) -> None:
    path = tmp_path / "sound.m4a"
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=48_000, layout="mono")
        frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
        frame.planes[0].update(bytes(4096))
        frame.sample_rate = 48_000
        frame.pts = 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(ValueError, match="没有视频流"):
        probe_duration(path)


def test_missing_file_is_not_disguised(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        probe_duration(tmp_path / "missing.mp4")


@pytest.mark.parametrize(
    "kwargs",
    [{"seconds": 0}, {"fps": 0}, {"width": 321}, {"height": 0}],
)
def test_invalid_parameters_are_rejected(tmp_path: Path, kwargs: dict[str, int]) -> None:
    path = tmp_path / "never.mp4"
    with pytest.raises(ValueError):
        generate_lesson_video(path, **kwargs)
    assert not path.exists()


def test_without_cjk_font_falls_back_to_ascii_title(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Simulate a server without CJK fonts; the caches must not leak into other tests.
    monkeypatch.setattr(video, "_find_cjk_font", lambda: None)
    video._font.cache_clear()
    try:
        slide = video._Slide(title="示例课程", width=WIDTH, height=HEIGHT, total_seconds=1)
        assert slide.title == ASCII_FALLBACK_TITLE
        path = tmp_path / "fallback.mp4"
        generate_lesson_video(path, seconds=1, title="示例课程", width=WIDTH, height=HEIGHT)
        assert probe_duration(path) == pytest.approx(1.0, abs=0.2)
    finally:
        video._font.cache_clear()


def test_ascii_title_is_kept_without_cjk_font(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(video, "_find_cjk_font", lambda: None)
    video._font.cache_clear()
    try:
        slide = video._Slide(title="Welding basics", width=WIDTH, height=HEIGHT, total_seconds=1)
        assert slide.title == "Welding basics"
    finally:
        video._font.cache_clear()


def _max_difference(a: Image.Image, b: Image.Image) -> int:
    _low, high = ImageChops.difference(a.convert("L"), b.convert("L")).getextrema()
    return int(high)
