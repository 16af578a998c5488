"""Certificate reads: the console's (scoped to the institution), the trainee's own, and the
public verification of one serial."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from zhipei.accounts.models import TraineeProfile
from zhipei.certificates import signing
from zhipei.certificates.models import Certificate
from zhipei.courses.models import TrainingClass
from zhipei.institutions.scoping import scoped

if TYPE_CHECKING:
    from zhipei.accounts.models import User


def certificates_visible_to(user: User) -> QuerySet[Certificate]:
    """Certificates of the institutions the staff member may see (their own)."""
    return scoped(Certificate.objects.all(), user).select_related(
        "trainee__user", "training_class", "issued_by", "revoked_by"
    )


def certificates_of(trainee: TraineeProfile) -> QuerySet[Certificate]:
    return Certificate.objects.filter(trainee=trainee).select_related(
        "training_class", "institution"
    )


def class_certificates(training_class: TrainingClass) -> dict[tuple[int, str], Certificate]:
    """The class's live certificates by (trainee id, kind)."""
    return {
        (c.trainee_id, c.kind): c
        for c in Certificate.objects.filter(training_class=training_class, revoked_at__isnull=True)
    }


@dataclass(frozen=True)
class Verification:
    """What the public page says about a serial."""

    VALID = "valid"
    REVOKED = "revoked"
    NOT_AUTHENTIC = "not_authentic"
    MISSING = "missing"

    status: str
    certificate: Certificate | None = None
    # None: no fragment given; else whether the QR code's fragment matches the signature.
    fragment_matches: bool | None = None
    key: signing.VerifyKey | None = None


def certificate_verification(serial: str, fragment: str = "") -> Verification:
    """Check a serial: does it exist, is it revoked, does the stored content still match its
    signature (a row edited in the database does not), and does the QR's fragment match."""
    certificate = Certificate.objects.filter(serial=serial).first() if serial else None
    if certificate is None:
        return Verification(Verification.MISSING)
    key = signing.verify_keys().get(certificate.key_id)
    authentic = signing.verify(certificate.content, certificate.signature, certificate.key_id)
    # The content must also be this row's: a valid signature copied from another certificate
    # onto this serial does not make it authentic.
    authentic = (
        authentic
        and certificate.content.get("serial") == certificate.serial
        and certificate.content.get("kind") == certificate.kind
    )
    matches = None
    if fragment:
        matches = len(fragment) >= 8 and certificate.signature.startswith(fragment)
    if not authentic:
        status = Verification.NOT_AUTHENTIC
    elif certificate.revoked:
        status = Verification.REVOKED
    else:
        status = Verification.VALID
    return Verification(status, certificate, matches, key)
