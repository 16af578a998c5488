"""The valid-time ledger: pure functions over a session's state, no Django, no clock of its own.

Nothing the client claims is trusted beyond this: the credit for a heartbeat is at most the
server's wall-clock time since the last accepted heartbeat, at most the forward progress past
the furthest validly watched point at 1×, and at most the longest allowed gap. Heartbeats are
idempotent by sequence number. Every second that is not credited gets a reason.

Credit is provisional until the next good face check (``checkpoint``); a failed check, an idle
timeout or a too-short segment takes it back (``void_after``), and the furthest point with it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from zhipei.lib.i18n import gettext_lazy

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

# Why a second was not credited. Stable codes: they are stored and exported.
DUPLICATE = "DUPLICATE"  # a sequence number already seen (replay, reordering): ignored
HIDDEN = "HIDDEN"  # page hidden or not focused
PAUSED = "PAUSED"  # the player was not playing
RATE = "RATE"  # playback rate other than 1×
SEEK = "SEEK"  # position ahead of the furthest validly watched point
REWATCH = "REWATCH"  # watching again what was already credited
STALLED = "STALLED"  # less progress than wall time (buffering, the end of the video)
GAP = "GAP"  # beyond the longest allowed gap between heartbeats
FACE_PENDING = "FACE_PENDING"  # before the start check passed
FACE_FAIL = "FACE_FAIL"  # voided by a failed or missed face re-check
QUIZ = "QUIZ"  # a pop-up question was open
QUIZ_TIMEOUT = "QUIZ_TIMEOUT"  # a pop-up question was not answered in time
IDLE = "IDLE"  # after the last interaction, when the idle prompt went unanswered
DAILY_CAP = "DAILY_CAP"  # beyond the daily cap
SHORT_SEGMENT = "SHORT_SEGMENT"  # a continuous stretch shorter than the shortest counted segment
CONCURRENT = "CONCURRENT"  # the session was ended by one on another device or tab
ENDED = "ENDED"  # heartbeats after the session ended

# What a person reads for each code (the console, exports, the dossier, the regulator): one
# vocabulary, defined beside the codes. Lazy translations: take str() of a label where it must be
# a real string (SQL parameters, json.dumps, spreadsheets, PDFs).
REASON_LABELS: dict[str, _StrPromise] = {
    HIDDEN: gettext_lazy("页面隐藏或未在前台"),
    PAUSED: gettext_lazy("暂停播放"),
    RATE: gettext_lazy("倍速播放"),
    SEEK: gettext_lazy("拖动进度超过已学位置"),
    REWATCH: gettext_lazy("重复观看已计时内容"),
    STALLED: gettext_lazy("播放停滞（缓冲或已播完）"),
    GAP: gettext_lazy("心跳间隔过长"),
    FACE_PENDING: gettext_lazy("等待开始人脸核验"),
    FACE_FAIL: gettext_lazy("人脸抽查未通过（作废）"),
    QUIZ: gettext_lazy("回答随堂问题"),
    QUIZ_TIMEOUT: gettext_lazy("随堂问题超时未答"),
    IDLE: gettext_lazy("长时间无操作（作废）"),
    DAILY_CAP: gettext_lazy("超过每日学时上限"),
    SHORT_SEGMENT: gettext_lazy("连续学习时间过短"),
    CONCURRENT: gettext_lazy("在其他设备或页面学习"),
    ENDED: gettext_lazy("会话结束后"),
    DUPLICATE: gettext_lazy("重复或乱序的心跳"),
}

EPSILON = 1e-6


@dataclass(frozen=True)
class Rules:
    max_gap: float = 30.0  # seconds; heartbeats come every 10–15 s
    # How far ahead of the furthest point (beyond the wall time) the player may report before it
    # counts as a seek: covers network jitter, a late heartbeat, a slow server.
    seek_tolerance: float = 5.0
    rate_tolerance: float = 0.01
    min_segment: float = 0.0  # seconds; shorter continuous stretches are not counted


@dataclass(frozen=True)
class Beat:
    seq: int
    at: float  # server receive time, seconds (never the client's clock)
    position: float  # seconds into the video
    rate: float = 1.0
    visible: bool = True
    focused: bool = True
    playing: bool = True


@dataclass
class Run:
    """A continuous stretch of credit not yet confirmed by a face check."""

    start_at: float
    end_at: float
    from_pos: float
    to_pos: float

    @property
    def seconds(self) -> float:
        return self.to_pos - self.from_pos


@dataclass
class State:
    duration: float
    last_seq: int = 0
    last_at: float | None = None
    last_position: float = 0.0
    furthest: float = 0.0  # the furthest validly watched point (credited, provisional included)
    credited: float = 0.0  # confirmed + provisional credit of this session
    pending: list[Run] = field(default_factory=list)  # provisional, since the last checkpoint
    open_run: bool = False  # whether the last interval extended the last run

    def to_json(self) -> dict[str, Any]:
        # What ``asdict`` gives, written out: this runs on every heartbeat and asdict deep-copies.
        return {
            "duration": self.duration,
            "last_seq": self.last_seq,
            "last_at": self.last_at,
            "last_position": self.last_position,
            "furthest": self.furthest,
            "credited": self.credited,
            "pending": [
                {
                    "start_at": r.start_at,
                    "end_at": r.end_at,
                    "from_pos": r.from_pos,
                    "to_pos": r.to_pos,
                }
                for r in self.pending
            ],
            "open_run": self.open_run,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        data = dict(data)
        data["pending"] = [Run(**run) for run in data.get("pending", [])]
        return cls(**data)


@dataclass
class Step:
    accepted: bool
    credit: float = 0.0
    uncredited: list[tuple[float, float, str]] = field(
        default_factory=list
    )  # (start_at, end_at, reason)
    closed: Run | None = None  # a run that ended with this beat (for the shortest-segment rule)


def apply(state: State, beat: Beat, rules: Rules, *, blocked: str | None = None) -> Step:
    """Account for the interval between the last accepted heartbeat and ``beat``.

    ``blocked`` is a session-level reason that no time may be credited now (face check pending,
    question open, daily cap, ...). The state is changed in place.
    """
    if beat.seq <= state.last_seq:
        return Step(accepted=False)
    if state.last_at is not None and beat.at < state.last_at:
        return Step(accepted=False)
    position = min(max(beat.position, 0.0), state.duration)
    step = Step(accepted=True)
    if state.last_at is None:  # the first beat only sets the baseline
        _advance(state, beat, position)
        return step
    start, wall = state.last_at, beat.at - state.last_at
    reason = blocked or _refusal(state, beat, position, wall, rules)
    credit = 0.0
    if reason is None:
        ahead = position - state.furthest
        credit = max(0.0, min(ahead, wall, rules.max_gap))
        if credit > EPSILON:
            _extend(state, beat.at, credit)
            rest = wall - credit
            if rest > EPSILON:
                why = GAP if wall > rules.max_gap and credit >= rules.max_gap - EPSILON else STALLED
                step.uncredited.append((start, start + rest, why))
        else:
            credit = 0.0
            behind = (
                position < state.furthest - EPSILON or state.last_position < state.furthest - 2.0
            )
            step.uncredited.append((start, beat.at, REWATCH if behind else STALLED))
    elif wall > EPSILON:
        step.uncredited.append((start, beat.at, reason))
    if credit <= EPSILON and state.open_run:
        state.open_run = False
        step.closed = state.pending[-1] if state.pending else None
    step.credit = credit
    _advance(state, beat, position)
    return step


def _refusal(state: State, beat: Beat, position: float, wall: float, rules: Rules) -> str | None:
    if abs(beat.rate - 1.0) > rules.rate_tolerance:
        return RATE
    if not (beat.visible and beat.focused):
        return HIDDEN
    if not beat.playing:
        return PAUSED
    # Further ahead of the furthest validly watched point than 1× playback since the last
    # heartbeat allows: a seek. Measured from the frontier, not from the last report, so one late
    # heartbeat costs at most its delay and never locks the session out.
    if position - state.furthest > wall + rules.seek_tolerance:
        return SEEK
    return None


def _extend(state: State, end: float, credit: float) -> None:
    begin = state.furthest
    state.furthest += credit
    state.credited += credit
    if state.open_run and state.pending and abs(state.pending[-1].to_pos - begin) < EPSILON:
        state.pending[-1].end_at = end
        state.pending[-1].to_pos = state.furthest
    else:
        state.pending.append(
            Run(start_at=end - credit, end_at=end, from_pos=begin, to_pos=state.furthest)
        )
    state.open_run = True


def _advance(state: State, beat: Beat, position: float) -> None:
    state.last_seq = beat.seq
    state.last_at = beat.at
    state.last_position = position


def checkpoint(state: State) -> list[Run]:
    """A good face check: the provisional runs become confirmed segments (returned)."""
    confirmed = [Run(**asdict(run)) for run in state.pending]
    if state.open_run and state.pending:
        # The stretch goes on: keep an empty continuation to extend.
        last = state.pending[-1]
        state.pending = [
            Run(start_at=last.end_at, end_at=last.end_at, from_pos=last.to_pos, to_pos=last.to_pos)
        ]
    else:
        state.pending = []
    return [run for run in confirmed if run.seconds > EPSILON]


def void_after(state: State, moment: float | None = None) -> float:
    """Take back provisional credit earned after ``moment`` (all of it when None); the furthest
    point moves back with it, so that part has to be watched again. Returns the seconds voided."""
    voided = 0.0
    kept: list[Run] = []
    for run in state.pending:
        if moment is None or run.start_at >= moment:
            voided += run.seconds
            continue
        if run.end_at > moment:
            keep = max(0.0, min(run.seconds, moment - run.start_at))
            voided += run.seconds - keep
            run = Run(
                start_at=run.start_at,
                end_at=moment,
                from_pos=run.from_pos,
                to_pos=run.from_pos + keep,
            )
        kept.append(run)
    if voided > EPSILON:
        state.pending = kept
        state.credited -= voided
        state.furthest -= voided
        state.last_position = min(state.last_position, state.furthest)
        state.open_run = False
    return voided if voided > EPSILON else 0.0


def drop_short_run(state: State, run: Run, rules: Rules) -> float:
    """The shortest-segment rule, for a run that just closed and is still provisional."""
    if rules.min_segment <= 0 or run.seconds >= rules.min_segment - EPSILON:
        return 0.0
    if not state.pending or state.pending[-1] is not run:
        return 0.0
    state.pending.pop()
    state.credited -= run.seconds
    state.furthest -= run.seconds
    state.last_position = min(state.last_position, state.furthest)
    return run.seconds
