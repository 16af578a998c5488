"""Sample lesson videos (H.264/AAC MP4 slides with a burned-in clock) and duration probing.

Plain PyAV + Pillow, no Django, so seeding scripts, workers and tests can all use it.
"""

from __future__ import annotations

import functools
import math
import os
import secrets
import struct
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont

from zhipei.lib.i18n import gettext as _

__all__ = [
    "ASCII_FALLBACK_TITLE",
    "aac_encoder_available",
    "generate_lesson_video",
    "probe_duration",
]

_Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

ASCII_FALLBACK_TITLE = "Zhipei sample lesson"

# Looked up once per process; only system fonts, nothing is ever downloaded.
_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")
_FONT_SUFFIXES = (".ttf", ".ttc", ".otf", ".otc")

_AUDIO_RATE = 48_000
# AAC frames are 1024 samples; a tone with a whole number of periods per frame
# (8 x 48000/1024 = 375 Hz) makes every frame identical, so one precomputed block
# is reused instead of calling math.sin() millions of times for long videos.
_AUDIO_BLOCK = 1024
_TONE_PERIODS_PER_BLOCK = 8
_TONE_AMPLITUDE = 0.05  # about -26 dBFS: audible proof of an audio track, not annoying

_BG_TOP = (22, 60, 110)
_BG_BOTTOM = (18, 120, 130)
_TEXT = (255, 255, 255)
_MUTED = (200, 225, 235)
_BAR_TRACK = (255, 255, 255, 70)
_BAR_FILL = (255, 196, 0)


def generate_lesson_video(
    path: str | os.PathLike[str],
    *,
    seconds: int = 60,
    title: str = "示例课程",  # i18n: data
    width: int = 640,
    height: int = 360,
    fps: int = 15,
) -> None:
    """Write a browser/phone-playable MP4 slide show with a visible mm:ss clock and progress bar.

    Video is H.264 (libx264, yuv420p, moov atom first via +faststart), audio a quiet AAC-LC
    mono tone (left out if this PyAV build has no AAC encoder). The file appears at ``path``
    only once it is complete.
    """
    if seconds < 1:
        raise ValueError(_("视频时长必须至少 1 秒"))
    if fps < 1:
        raise ValueError(_("帧率必须至少为 1"))
    # yuv420p subsamples chroma 2x2, so libx264 rejects odd dimensions.
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise ValueError(_("视频宽高必须是不小于 16 的偶数"))

    target = Path(path)
    # Encode into a hidden sibling and rename, so a crash never leaves a half-written MP4
    # that looks valid to a web server or to probe_duration().
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        _encode(tmp, seconds=seconds, title=title, width=width, height=height, fps=fps)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def probe_duration(path: str | os.PathLike[str]) -> float:
    """Return the duration in seconds of the video at ``path``.

    Raises ``ValueError`` if the file is not a complete, readable video (empty, truncated,
    not a media file, no video stream). A missing file raises ``FileNotFoundError``.
    """
    filename = os.fspath(path)
    size = os.stat(filename).st_size  # FileNotFoundError propagates: that is a caller bug
    if size == 0:
        raise ValueError(_("无法读取视频时长：文件为空"))

    try:
        # Only the local "file" protocol: playlist formats (HLS, etc.) in an uploaded file
        # must not make the server fetch URLs.
        with av.open(filename, container_options={"protocol_whitelist": "file"}) as container:
            if not container.streams.video:
                raise ValueError(_("无法读取视频时长：文件中没有视频流"))
            duration = _duration_seconds(container)
            last_byte = _last_indexed_byte(container)
    except av.FFmpegError as exc:
        # strerror, not str(exc): the latter embeds the server-side path, and this message
        # may be shown to the person who uploaded the file.
        reason = exc.strerror or type(exc).__name__
        raise ValueError(
            _("无法读取视频时长：无法解析媒体文件（%(reason)s）") % {"reason": reason}
        ) from exc

    if duration is None or not math.isfinite(duration) or duration <= 0:
        raise ValueError(_("无法读取视频时长：文件中没有有效的时长信息"))
    # A faststart MP4 keeps its index at the front, so a cut-off upload still opens and
    # reports the full duration; the sample index tells us the data is really there.
    if last_byte > size:
        raise ValueError(_("无法读取视频时长：文件不完整（可能上传或复制被中断）"))
    return duration


def _duration_seconds(container: av.container.InputContainer) -> float | None:
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    stream = container.streams.video[0]
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return None


def _last_indexed_byte(container: av.container.InputContainer) -> int:
    """End offset of the furthest sample the demuxer's index knows about (0 if no index)."""
    end = 0
    for stream in container.streams:
        for entry in stream.index_entries:
            if entry.pos >= 0:
                end = max(end, entry.pos + entry.size)
    return end


def _encode(path: Path, *, seconds: int, title: str, width: int, height: int, fps: int) -> None:
    slide = _Slide(title=title, width=width, height=height, total_seconds=seconds)
    video_tb = Fraction(1, fps)
    audio_tb = Fraction(1, _AUDIO_RATE)
    tone = _tone_block()

    # format="mp4" because the temp file name has no .mp4 suffix to guess from.
    with av.open(
        str(path), mode="w", format="mp4", options={"movflags": "+faststart"}
    ) as container:
        container.metadata["title"] = title
        video = container.add_stream(
            "libx264",
            rate=fps,
            # veryfast keeps a 60 s clip to a couple of seconds; main profile plays on
            # every browser and phone; crf 28 is plenty for flat slides.
            options={"preset": "veryfast", "profile": "main", "crf": "28"},
        )
        video.width = width
        video.height = height
        video.pix_fmt = "yuv420p"
        # A keyframe every 2 s keeps seeking in the player snappy.
        video.codec_context.gop_size = 2 * fps
        audio: av.audio.stream.AudioStream | None = None
        # AAC is the one audio codec every browser and phone plays in MP4; a video without
        # sound still works for a slide show, so a build without AAC just skips audio.
        if aac_encoder_available():
            audio = container.add_stream(
                "aac",
                rate=_AUDIO_RATE,
                layout="mono",
                # The default "twoloop" coder spends half the run time on a sine tone.
                options={"aac_coder": "fast"},
            )
            audio.codec_context.bit_rate = 64_000

        frame_index = 0
        samples_written = 0
        for second in range(seconds):
            # The picture only changes once a second, so render/convert once and resend it.
            frame = av.VideoFrame.from_image(slide.render(second)).reformat(format="yuv420p")
            for _ in range(fps):
                frame.pts = frame_index
                frame.time_base = video_tb
                container.mux(video.encode(frame))
                frame_index += 1
            # Interleave audio per second so the MP4 streams progressively in the browser.
            samples_due = (second + 1) * _AUDIO_RATE
            while audio is not None and samples_written < samples_due:
                count = min(_AUDIO_BLOCK, samples_due - samples_written)
                block = av.AudioFrame(format="fltp", layout="mono", samples=count)
                block.planes[0].update(tone[: count * 4])
                block.sample_rate = _AUDIO_RATE
                block.pts = samples_written
                block.time_base = audio_tb
                container.mux(audio.encode(block))
                samples_written += count

        container.mux(video.encode(None))
        if audio is not None:
            container.mux(audio.encode(None))


@functools.cache
def aac_encoder_available() -> bool:
    """Whether this PyAV/FFmpeg build can encode AAC (generated videos then have audio)."""
    try:
        av.Codec("aac", "w")
    except av.codec.codec.UnknownCodecError:
        return False
    return True


@functools.cache
def _tone_block() -> bytes:
    """One AAC frame of a sine tone as little-endian float32 (fltp mono plane)."""
    step = 2 * math.pi * _TONE_PERIODS_PER_BLOCK / _AUDIO_BLOCK
    values = [_TONE_AMPLITUDE * math.sin(step * i) for i in range(_AUDIO_BLOCK)]
    return struct.pack(f"<{_AUDIO_BLOCK}f", *values)


class _Slide:
    """Draws the static slide once; per second only the clock and progress bar are added."""

    def __init__(self, *, title: str, width: int, height: int, total_seconds: int) -> None:
        self.width = width
        self.height = height
        self.total_seconds = total_seconds
        cjk = _find_cjk_font() is not None
        # Pillow's default font has no Chinese glyphs; tofu boxes would be worse than English.
        if not cjk and not title.isascii():
            title = ASCII_FALLBACK_TITLE
        self.title = title
        brand = (
            _("职培 Zhipei · 在线职业技能培训") if cjk else "Zhipei · online vocational training"
        )

        self.clock_font = _font(max(12, height // 5))
        self.total_font = _font(max(10, height // 16))
        margin = max(8, width // 16)
        self.bar_box = (
            margin,
            int(height * 0.84),
            width - margin,
            int(height * 0.84) + max(4, height // 40),
        )

        top = Image.new("RGB", (width, height), _BG_TOP)
        bottom = Image.new("RGB", (width, height), _BG_BOTTOM)
        gradient = Image.linear_gradient("L").resize((width, height))
        background = Image.composite(bottom, top, gradient)

        overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        draw.rectangle((0, 0, width, max(4, height // 60)), fill=_BAR_FILL)
        _draw_centered(
            draw,
            (width // 2, int(height * 0.12)),
            brand,
            _fit_font(draw, brand, max(10, height // 22), width - 2 * margin),
            _MUTED,
        )
        _draw_centered(
            draw,
            (width // 2, int(height * 0.32)),
            title,
            _fit_font(draw, title, max(12, height // 9), width - 2 * margin),
            _TEXT,
        )
        draw.rounded_rectangle(self.bar_box, radius=2, fill=_BAR_TRACK)
        self.background = Image.alpha_composite(background.convert("RGBA"), overlay).convert("RGB")

    def render(self, second: int) -> Image.Image:
        image = self.background.copy()
        draw = ImageDraw.Draw(image)
        w, h = self.width, self.height
        _draw_centered(draw, (w // 2, int(h * 0.58)), _mmss(second), self.clock_font, _TEXT)
        total = f"/ {_mmss(self.total_seconds)}"
        _draw_centered(draw, (w // 2, int(h * 0.73)), total, self.total_font, _MUTED)
        left, top, right, bottom = self.bar_box
        # Elapsed fraction matches the clock: empty at 00:00.
        filled = left + round((right - left) * second / self.total_seconds)
        if filled > left:
            draw.rounded_rectangle((left, top, filled, bottom), radius=2, fill=_BAR_FILL)
        return image


def _mmss(second: int) -> str:
    return f"{second // 60:02d}:{second % 60:02d}"


def _draw_centered(
    draw: ImageDraw.ImageDraw,
    center: tuple[int, int],
    text: str,
    font: _Font,
    fill: tuple[int, int, int],
) -> None:
    # Centre via textbbox instead of anchor="mm": the bitmap fallback font (Pillow without
    # FreeType) does not support anchors.
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = center[0] - (left + right) / 2
    y = center[1] - (top + bottom) / 2
    draw.text((x, y), text, font=font, fill=fill)


def _fit_font(draw: ImageDraw.ImageDraw, text: str, size: int, max_width: int) -> _Font:
    """Largest font up to ``size`` that fits ``text`` in ``max_width`` (long course titles)."""
    while True:
        font = _font(size)
        if size <= 10 or draw.textlength(text, font=font) <= max_width:
            return font
        size = max(10, int(size * 0.9))


@functools.cache
def _font(size: int) -> _Font:
    found = _find_cjk_font()
    if found is not None:
        font_path, index = found
        try:
            return ImageFont.truetype(font_path, size, index=index)
        except (OSError, ImportError):
            pass
    return ImageFont.load_default(size=size)


@functools.cache
def _find_cjk_font() -> tuple[str, int] | None:
    """Path and face index of an installed CJK font, or None. Prefers sans, regular, SC."""
    candidates: list[Path] = []
    for root in _FONT_DIRS:
        if not os.path.isdir(root):
            continue
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                lower = name.lower()
                if lower.endswith(_FONT_SUFFIXES) and ("cjk" in lower or "wqy" in lower):
                    candidates.append(Path(dirpath, name))

    def preference(p: Path) -> tuple[bool, bool, str]:
        lower = p.name.lower()
        return ("sans" not in lower and "wqy" not in lower, "bold" in lower, lower)

    for candidate in sorted(candidates, key=preference):
        index = _simplified_chinese_face(candidate)
        if index is not None:
            return str(candidate), index
    return None


def _simplified_chinese_face(font_path: Path) -> int | None:
    """Index of the Simplified Chinese face in a collection (Noto CJK .ttc puts JP first)."""
    first_loadable: int | None = None
    for index in range(16):  # collections hold a handful of faces; stop at the first gap
        try:
            face = ImageFont.truetype(str(font_path), 16, index=index)
        except (OSError, ImportError):
            break
        if first_loadable is None:
            first_loadable = index
        family = face.getname()[0] or ""
        if family.endswith(" SC") or "wqy" in font_path.name.lower():
            return index
    return first_loadable
