"""Certificate writes: issue (one trainee or a whole class), revoke, and audited downloads.

Eligibility is decided here, from the study ledger (valid online 学时 in the class's dates) and
the class's final exam; the printed content is frozen and signed at issue.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from zhipei.accounts.models import TraineeProfile
from zhipei.audit.services import audit_log
from zhipei.certificates import signing
from zhipei.certificates.models import Certificate
from zhipei.courses.models import ClassMember, TrainingClass
from zhipei.exams.selectors import ExamResult, class_exam_result
from zhipei.study.selectors import class_xueshi

if TYPE_CHECKING:
    from zhipei.accounts.models import User

CONTENT_VERSION = 1
# No 0/O or 1/I: serials are read off paper and typed in by people.
SERIAL_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
SERIAL_RE = re.compile(r"^ZP\d{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$")


class CertificateError(Exception):
    """A refusal with a stable code for APIs and a Chinese message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def new_serial(year: int) -> str:
    """``ZP2026-XXXX-XXXX-XXXX``: 60 random bits, so serials cannot be guessed from each other."""
    body = "".join(secrets.choice(SERIAL_ALPHABET) for _ in range(12))
    return f"ZP{year}-{body[:4]}-{body[4:8]}-{body[8:]}"


def normalize_serial(text: str) -> str:
    """A serial as typed (any case, spaces) in its stored form; '' when it cannot be one."""
    serial = re.sub(r"\s+", "", text or "").upper()
    return serial if SERIAL_RE.match(serial) else ""


def xueshi_printed(value: float) -> Decimal:
    """学时 to one decimal, rounded down (a certificate never overstates hours). Float noise of
    the ledger's sums (39.99999999) is smoothed first so exact hours stay exact."""
    return Decimal(repr(round(value, 6))).quantize(Decimal("0.1"), rounding=ROUND_DOWN)


def class_required_xueshi(training_class: TrainingClass) -> Decimal:
    return Decimal(str(training_class.required_xueshi)).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class Eligibility:
    xueshi: Decimal
    exam: ExamResult | None


def eligibility_decide(
    *, kind: str, xueshi: Decimal, required: Decimal, exam: ExamResult | None
) -> Eligibility:
    """The rule, on numbers already read: a 学时证明 needs some valid hours; a 结业证明 needs
    the required hours and a passed class exam. Raises CertificateError."""
    if kind not in Certificate.Kind.values:
        raise CertificateError("BAD_KIND", _("证书类型无效"))
    if xueshi <= 0:
        raise CertificateError("NO_HOURS", _("该学员在本培训班尚无有效学时"))
    if kind == Certificate.Kind.COMPLETION:
        if xueshi < required:
            raise CertificateError(
                "HOURS_SHORT",
                _("有效学时 %(xueshi)s 未达到要求的 %(required)s 学时")
                % {"xueshi": xueshi, "required": required},
            )
        if exam is None:
            raise CertificateError("EXAM_NOT_PASSED", _("该学员尚未参加结业考试"))
        if not exam.passed:
            raise CertificateError(
                "EXAM_NOT_PASSED",
                _("结业考试成绩 %(score)s 分，未达到合格标准") % {"score": exam.score},
            )
    return Eligibility(xueshi=xueshi, exam=exam)


def certificate_eligibility(
    *,
    training_class: TrainingClass,
    trainee: TraineeProfile,
    kind: str,
    hours: dict[int, float] | None = None,
) -> Eligibility:
    """What the certificate would state, or CertificateError saying why it cannot be issued.
    ``hours`` is ``class_xueshi(training_class)`` when the caller already has it (bulk)."""
    if kind not in Certificate.Kind.values:
        raise CertificateError("BAD_KIND", _("证书类型无效"))
    if not ClassMember.objects.filter(training_class=training_class, trainee=trainee).exists():
        raise CertificateError("NOT_MEMBER", _("该学员不是本培训班的学员"))
    if hours is None:
        hours = class_xueshi(training_class)
    return eligibility_decide(
        kind=kind,
        xueshi=xueshi_printed(hours.get(trainee.pk, 0.0)),
        required=class_required_xueshi(training_class),
        exam=class_exam_result(trainee, training_class),
    )


def _content(
    *,
    serial: str,
    kind: str,
    trainee: TraineeProfile,
    training_class: TrainingClass,
    eligibility: Eligibility,
    issued_on: date,
) -> dict[str, Any]:
    """The frozen, printed content. Numbers are strings with one decimal, so the canonical JSON
    (and so the signature) is the same on every database and JSON library."""
    exam = eligibility.exam
    return {
        "v": CONTENT_VERSION,
        "serial": serial,
        "kind": kind,
        # str(): frozen in the language it is issued in; a lazy label would not serialise.
        "title": str(Certificate.Kind(kind).label),
        "holder_name": trainee.user.name,
        "id_number_masked": trainee.id_number_masked,
        "institution": training_class.institution.name,
        "class_name": training_class.name,
        "class_start": training_class.start_date.isoformat(),
        "class_end": training_class.end_date.isoformat(),
        "courses": list(training_class.courses.order_by("id").values_list("title", flat=True)),
        "online_xueshi": str(eligibility.xueshi),
        # Online hours count 1:1 as classroom hours (the bureau's rule).
        "classroom_xueshi": str(eligibility.xueshi),
        "required_xueshi": str(class_required_xueshi(training_class)),
        "exam": None
        if exam is None
        else {
            "title": exam.exam_title,
            "score": str(Decimal(str(exam.score)).quantize(Decimal("0.1"))),
            "passed": exam.passed,
        },
        "issued_on": issued_on.isoformat(),
    }


def _live(trainee: TraineeProfile, training_class: TrainingClass, kind: str) -> Certificate | None:
    return Certificate.objects.filter(
        trainee=trainee, training_class=training_class, kind=kind, revoked_at__isnull=True
    ).first()


def _issue(
    *,
    training_class: TrainingClass,
    trainee: TraineeProfile,
    kind: str,
    by: User | None,
    request: HttpRequest | None,
    hours: dict[int, float] | None = None,
) -> tuple[Certificate, bool]:
    if by is not None and by.institution_id not in (None, training_class.institution_id):
        raise CertificateError("WRONG_INSTITUTION", _("只能为本机构的培训班签发证书"))
    existing = _live(trainee, training_class, kind)
    if existing is not None:
        return existing, False
    eligibility = certificate_eligibility(
        training_class=training_class, trainee=trainee, kind=kind, hours=hours
    )
    issued_at = timezone.now()
    serial = new_serial(timezone.localdate(issued_at).year)
    content = _content(
        serial=serial,
        kind=kind,
        trainee=trainee,
        training_class=training_class,
        eligibility=eligibility,
        issued_on=timezone.localdate(issued_at),
    )
    signature, key_id = signing.sign(content)
    try:
        with transaction.atomic():
            certificate = Certificate.objects.create(
                serial=serial,
                kind=kind,
                trainee=trainee,
                institution_id=training_class.institution_id,
                training_class=training_class,
                content=content,
                signature=signature,
                key_id=key_id,
                issued_at=issued_at,
                issued_by=by,
            )
            audit_log(
                action="certificate.issue",
                actor=by,
                request=request,
                target=certificate,
                institution_id=training_class.institution_id,
                detail={"serial": serial, "kind": kind, "class_id": training_class.pk},
            )
    except IntegrityError:
        # Issued meanwhile by someone else: theirs is the certificate.
        existing = _live(trainee, training_class, kind)
        if existing is None:
            raise
        return existing, False
    return certificate, True


def certificate_issue(
    *,
    training_class: TrainingClass,
    trainee: TraineeProfile,
    kind: str,
    by: User | None,
    request: HttpRequest | None = None,
) -> Certificate:
    """Issue a 学时证明 (``kind="hours"``) or 结业证明 (``"completion"``) to one class member.

    Idempotent: the trainee's live certificate of that kind for the class is returned as is.
    Raises CertificateError (NOT_MEMBER, NO_HOURS, HOURS_SHORT, EXAM_NOT_PASSED...).
    """
    certificate, _created = _issue(
        training_class=training_class, trainee=trainee, kind=kind, by=by, request=request
    )
    return certificate


@dataclass
class Skipped:
    trainee: TraineeProfile
    code: str
    message: str


@dataclass
class BulkIssueResult:
    issued: list[Certificate] = field(default_factory=list)
    existing: list[Certificate] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def certificate_issue_bulk(
    *,
    training_class: TrainingClass,
    kind: str,
    by: User | None,
    request: HttpRequest | None = None,
) -> BulkIssueResult:
    """Issue ``kind`` to every eligible member of the class; say who was skipped and why."""
    if kind not in Certificate.Kind.values:
        raise CertificateError("BAD_KIND", _("证书类型无效"))
    result = BulkIssueResult()
    hours = class_xueshi(training_class)
    members = (
        ClassMember.objects.filter(training_class=training_class)
        .select_related("trainee__user")
        .order_by("enrolled_at", "id")
    )
    for member in members:
        try:
            certificate, created = _issue(
                training_class=training_class,
                trainee=member.trainee,
                kind=kind,
                by=by,
                request=request,
                hours=hours,
            )
        except CertificateError as exc:
            if exc.code == "WRONG_INSTITUTION":
                raise
            result.skipped.append(Skipped(member.trainee, exc.code, exc.message))
        else:
            (result.issued if created else result.existing).append(certificate)
    skip_codes: dict[str, int] = {}
    for skipped in result.skipped:
        skip_codes[skipped.code] = skip_codes.get(skipped.code, 0) + 1
    audit_log(
        action="certificate.issue_bulk",
        actor=by,
        request=request,
        target=training_class,
        institution_id=training_class.institution_id,
        detail={
            "kind": kind,
            "issued": len(result.issued),
            "existing": len(result.existing),
            "skipped": skip_codes,
        },
    )
    return result


def certificate_revoke(
    *, certificate: Certificate, by: User | None, reason: str, request: HttpRequest | None = None
) -> Certificate:
    """Revoke a certificate: the verification page then says 已撤销. A corrected certificate
    is a new issue (with a new serial)."""
    reason = (reason or "").strip()
    if not reason:
        raise CertificateError("REASON_REQUIRED", _("请填写撤销原因"))
    if len(reason) > 200:
        raise CertificateError("REASON_TOO_LONG", _("撤销原因不能超过 200 字"))
    with transaction.atomic():
        row = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if row.revoked_at is not None:
            raise CertificateError("ALREADY_REVOKED", _("该证书已撤销"))
        row.revoked_at = timezone.now()
        row.revoked_by = by
        row.revoke_reason = reason
        row.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        # The reason is free text and may name people: it stays on the row, not in the log.
        audit_log(
            action="certificate.revoke",
            actor=by,
            request=request,
            target=row,
            institution_id=row.institution_id,
            detail={"serial": row.serial, "kind": row.kind},
        )
    return row


def certificate_download(
    *, certificate: Certificate, by: User | None, request: HttpRequest | None = None
) -> bytes:
    """The certificate's PDF, rendered from its frozen content; every download is audited."""
    from zhipei.certificates.pdf import certificate_pdf

    data = certificate_pdf(certificate)
    audit_log(
        action="certificate.download",
        actor=by,
        request=request,
        target=certificate,
        institution_id=certificate.institution_id,
        detail={"serial": certificate.serial, "kind": certificate.kind},
    )
    return data
