"""The supervision numbers in force for an institution: the platform's settings, tightened
(never loosened) by the institution's own SupervisionPolicy."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from zhipei.institutions.models import Institution
from zhipei.study import ledger
from zhipei.study.models import SupervisionPolicy


@dataclass(frozen=True)
class Policy:
    heartbeat_seconds: int
    max_gap: float
    face_min_seconds: float
    face_max_seconds: float
    face_response_seconds: int
    face_max_failures: int
    quiz_min_seconds: float
    quiz_max_seconds: float
    quiz_seconds: int
    quiz_wrong_policy: str
    quiz_rewind_seconds: int
    idle_seconds: float
    idle_response_seconds: int
    daily_cap_seconds: float
    min_segment_seconds: float
    completion_slack_seconds: float

    @property
    def rules(self) -> ledger.Rules:
        return ledger.Rules(max_gap=self.max_gap, min_segment=self.min_segment_seconds)


def _tighter(platform: float, own: float | None, *, smaller_is_stricter: bool = True) -> float:
    if own is None:
        return platform
    return min(platform, own) if smaller_is_stricter else max(platform, own)


# An institution's own numbers change rarely and are read on every heartbeat: keep the policy
# they make for a short while per process instead of a query (and the building) per heartbeat.
_OWN_TTL = 30.0
_cache: dict[int, tuple[float, Policy]] = {}


@receiver(setting_changed)
def clear_policy_cache(**kwargs: object) -> None:
    _cache.clear()


def policy_for(institution: Institution | int) -> Policy:
    """``institution`` or its id (the heartbeat path has only the id)."""
    institution_id = institution if isinstance(institution, int) else institution.pk
    hit = _cache.get(institution_id)
    if hit is not None and time.monotonic() - hit[0] < _OWN_TTL:
        return hit[1]
    policy = _policy(SupervisionPolicy.objects.filter(institution_id=institution_id).first())
    _cache[institution_id] = (time.monotonic(), policy)
    return policy


def _policy(own: SupervisionPolicy | None) -> Policy:
    """The platform's settings, tightened by ``own``."""
    minutes = 60.0

    def pick(
        setting: float, field: str, scale: float = 1.0, smaller_is_stricter: bool = True
    ) -> float:
        value = getattr(own, field, None) if own is not None else None
        return _tighter(
            setting,
            value * scale if value is not None else None,
            smaller_is_stricter=smaller_is_stricter,
        )

    face_max = pick(
        settings.STUDY_FACE_CHECK_MAX_MINUTES * minutes, "face_check_max_minutes", minutes
    )
    face_min = min(
        pick(settings.STUDY_FACE_CHECK_MIN_MINUTES * minutes, "face_check_min_minutes", minutes),
        face_max,
    )
    quiz_max = pick(settings.STUDY_QUIZ_MAX_MINUTES * minutes, "quiz_max_minutes", minutes)
    quiz_min = min(
        pick(settings.STUDY_QUIZ_MIN_MINUTES * minutes, "quiz_min_minutes", minutes), quiz_max
    )
    return Policy(
        heartbeat_seconds=settings.STUDY_HEARTBEAT_SECONDS,
        max_gap=float(settings.STUDY_MAX_GAP_SECONDS),
        face_min_seconds=face_min,
        face_max_seconds=face_max,
        face_response_seconds=settings.STUDY_FACE_RESPONSE_SECONDS,
        face_max_failures=settings.STUDY_FACE_MAX_FAILURES,
        quiz_min_seconds=quiz_min,
        quiz_max_seconds=quiz_max,
        quiz_seconds=settings.STUDY_QUIZ_SECONDS,
        quiz_wrong_policy=settings.STUDY_QUIZ_WRONG_POLICY,
        quiz_rewind_seconds=settings.STUDY_QUIZ_REWIND_SECONDS,
        idle_seconds=pick(settings.STUDY_IDLE_MINUTES * minutes, "idle_minutes", minutes),
        idle_response_seconds=settings.STUDY_IDLE_RESPONSE_SECONDS,
        daily_cap_seconds=pick(
            settings.STUDY_DAILY_CAP_XUESHI * settings.MINUTES_PER_XUESHI * minutes,
            "daily_cap_xueshi",
            settings.MINUTES_PER_XUESHI * minutes,
        ),
        min_segment_seconds=pick(
            settings.STUDY_MIN_SEGMENT_SECONDS, "min_segment_seconds", smaller_is_stricter=False
        ),
        completion_slack_seconds=settings.STUDY_COMPLETION_SLACK_SECONDS,
    )
