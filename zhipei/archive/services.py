"""Archive writes: the 一人一档 dossier of one trainee (a zip written to a temporary file, its
manifest's digest anchored in the audit log) and the import of trainees from an Excel sheet."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zhipei.accounts.models import Membership, Role, TraineeProfile, User
from zhipei.archive import selectors
from zhipei.archive.pdf import dossier_pdf
from zhipei.audit.services import audit_log
from zhipei.core.exports import csv_lines
from zhipei.faces.services import evidence_image
from zhipei.institutions.models import Institution

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from zhipei.archive.imports import TraineeRow

# --- 一人一档 ------------------------------------------------------------------------------------

DOSSIER_FORMAT = "zhipei-dossier/1"
_UNSAFE = re.compile(r"[^0-9A-Za-z_-]")


class _Member:
    """One file being written into the zip: its bytes go straight through, hashed and counted."""

    def __init__(
        self, archive: zipfile.ZipFile, name: str, when: datetime, compress_type: int
    ) -> None:
        self.name = name
        self._out = archive.open(_info(name, when, compress_type), "w", force_zip64=True)
        self._sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._sha.update(data)
        self.size += len(data)
        self._out.write(data)

    def close(self) -> dict[str, Any]:
        self._out.close()
        return {"name": self.name, "bytes": self.size, "sha256": self._sha.hexdigest()}


def _info(name: str, when: datetime, compress_type: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    """A member dated when the dossier was made (local time, as unzip shows it), readable."""
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
    info.compress_type = compress_type
    info.external_attr = 0o644 << 16
    return info


def _add(
    archive: zipfile.ZipFile,
    name: str,
    chunks: Iterable[bytes],
    when: datetime,
    compress_type: int = zipfile.ZIP_DEFLATED,
) -> dict[str, Any]:
    member = _Member(archive, name, when, compress_type)
    for chunk in chunks:
        member.write(chunk)
    return member.close()


def _csv(
    archive: zipfile.ZipFile,
    name: str,
    header: Sequence[StrOrPromise],
    rows: Iterable[Sequence[Any]],
    when: datetime,
) -> dict[str, Any]:
    """A CSV (UTF-8 with BOM, for Excel) written row by row: memory stays flat. The header's
    lazy labels become text here, in the active language."""
    labels = [str(label) for label in header]
    return _add(archive, name, _blocks(csv_lines(labels, rows)), when)


def _blocks(lines: Iterable[str], size: int = 64 * 1024) -> Iterator[bytes]:
    """Lines gathered into blocks of about ``size`` bytes: one compressor call per block, not
    per line."""
    block: list[bytes] = []
    filled = 0
    for line in lines:
        data = line.encode("utf-8")
        block.append(data)
        filled += len(data)
        if filled >= size:
            yield b"".join(block)
            block, filled = [], 0
    if block:
        yield b"".join(block)


def _evidence_name(attempt: Any, taken: set[str]) -> str:
    stamp = timezone.localtime(attempt.at).strftime("%Y%m%d-%H%M%S")
    base = f"faces/{stamp}_{_UNSAFE.sub('', attempt.purpose)}_{_UNSAFE.sub('', attempt.decision)}"
    name = f"{base}.jpg"
    if name in taken:  # two checks of the same kind in the same second
        name = f"{base}_{attempt.pk}.jpg"
    taken.add(name)
    return name


@dataclass(frozen=True)
class Dossier:
    file: IO[bytes]  # the zip, positioned at its start; the caller closes it (FileResponse does)
    filename: str
    manifest_sha256: str
    files: int
    face_images: int


CSV_FILES = (
    "study_sessions.csv",
    "study_segments.csv",
    "uncredited_intervals.csv",
    "face_checks.csv",
    "quiz_answers.csv",
    "exam_attempts.csv",
    "certificates.csv",
    "consents.csv",
    "audit_entries.csv",
)


def trainee_dossier_zip(
    *,
    trainee: TraineeProfile,
    institution: Institution,
    by: User,
    request: HttpRequest | None = None,
) -> Dossier:
    """Everything the institution holds about one trainee, in one zip: summary.pdf, a CSV per
    kind of record, the decrypted face evidence (faces/), and manifest.json with the SHA-256 of
    every file. The manifest's own digest goes into the audit entry, so a changed file shows
    against the hash-chained log. Written to a temporary file: CSV rows stream from the database
    in chunks and images are added one at a time, so memory does not grow with the record."""
    generated_at = timezone.localtime()
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    manifest_files: list[dict[str, Any]] = []
    evidence_names: dict[int, str] = {}
    missing = 0
    try:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            # The images first: the face CSV names each one's file (two members cannot be
            # open for writing at once, so the names are collected here).
            taken: set[str] = set()
            faces = (
                selectors.trainee_face_attempts(trainee, institution)
                .exclude(evidence="")
                .order_by("at", "id")
            )
            for attempt in faces.iterator(chunk_size=200):
                try:
                    image = evidence_image(attempt)
                except (OSError, ValueError):
                    missing += 1  # listed as missing in face_checks.csv
                    continue
                name = _evidence_name(attempt, taken)
                # A JPEG does not deflate: stored as it is, which saves the CPU.
                manifest_files.append(
                    _add(archive, name, [image], generated_at, zipfile.ZIP_STORED)
                )
                evidence_names[attempt.pk] = name
                del image
            t, i = trainee, institution
            tables: list[tuple[str, Sequence[StrOrPromise], Iterable[Sequence[Any]]]] = [
                ("study_sessions.csv", selectors.SESSION_HEADER, selectors.session_rows(t, i)),
                ("study_segments.csv", selectors.SEGMENT_HEADER, selectors.segment_rows(t, i)),
                (
                    "uncredited_intervals.csv",
                    selectors.UNCREDITED_HEADER,
                    selectors.uncredited_rows(t, i),
                ),
                (
                    "face_checks.csv",
                    selectors.FACE_HEADER,
                    selectors.face_rows(t, i, evidence_names),
                ),
                ("quiz_answers.csv", selectors.QUIZ_HEADER, selectors.quiz_rows(t, i)),
                ("exam_attempts.csv", selectors.ATTEMPT_HEADER, selectors.attempt_rows(t, i)),
                (
                    "certificates.csv",
                    selectors.CERTIFICATE_HEADER,
                    selectors.certificate_rows(t, i),
                ),
                ("consents.csv", selectors.CONSENT_HEADER, selectors.consent_rows(t)),
                ("audit_entries.csv", selectors.AUDIT_HEADER, selectors.audit_rows(t, i)),
            ]
            for name, header, rows in tables:
                manifest_files.append(_csv(archive, name, header, rows, generated_at))
            summary = selectors.dossier_summary(trainee, institution)
            pdf = dossier_pdf(
                summary,
                generated_at=generated_at,
                generated_by=_("%(name)s（%(username)s）")
                % {"name": by.name, "username": by.username},
                files=["summary.pdf", *CSV_FILES, "faces/", "manifest.json"],
            )
            manifest_files.insert(0, _add(archive, "summary.pdf", [pdf], generated_at))
            manifest = {
                "format": DOSSIER_FORMAT,
                "generated_at": generated_at.isoformat(),
                "generated_by": by.username,
                "institution": {"id": institution.pk, "name": institution.name},
                "trainee": {
                    "id": trainee.pk,
                    "name": trainee.user.name,
                    "id_number_masked": trainee.id_number_masked,
                },
                "face_images": len(evidence_names),
                "face_images_missing": missing,
                "files": manifest_files,
            }
            manifest_bytes = json.dumps(
                manifest, ensure_ascii=False, indent=2, sort_keys=True
            ).encode("utf-8")
            archive.writestr(_info("manifest.json", generated_at), manifest_bytes)
        manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
        audit_log(
            action="trainee.dossier_export",
            actor=by,
            request=request,
            target=trainee,
            institution_id=institution.pk,
            detail={
                "files": len(manifest_files) + 1,
                "face_images": len(evidence_names),
                "face_images_missing": missing,
                "manifest_sha256": manifest_sha256,
            },
        )
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return Dossier(
        file=spool,
        filename=_("学员档案-%(trainee)s-%(time)s.zip")
        % {"trainee": trainee.pk, "time": f"{generated_at:%Y%m%d-%H%M%S}"},
        manifest_sha256=manifest_sha256,
        files=len(manifest_files) + 1,
        face_images=len(evidence_names),
    )


# --- import from Excel --------------------------------------------------------------------------


class ImportConflict(Exception):
    """The database changed between the check and the import (someone registered meanwhile);
    nothing was imported."""

    code = "IMPORT_CONFLICT"
    message = gettext_lazy(
        "导入过程中有学员信息发生变化（可能有人刚刚注册），未导入任何学员，请重新上传校验"
    )


@dataclass(frozen=True)
class ImportResult:
    created: int  # new accounts
    linked: int  # already on the platform, now members of this institution too


def trainees_import(
    *,
    institution: Institution,
    rows: Sequence[TraineeRow],
    by: User,
    request: HttpRequest | None = None,
    skipped_rows: int = 0,
    already_members: int = 0,
    only_good_rows: bool = False,
) -> ImportResult:
    """Create the trainees of checked sheet rows, all in one transaction, or none.

    A row whose ID number is already on the platform (same name, checked before) becomes a new
    membership of the existing person; the others become new accounts. No consent is recorded
    for them: each trainee reads and accepts the consent at their first login. One audit entry
    with the counts, no personal data."""
    new_rows = [r for r in rows if r.existing_id is None]
    link_ids = [r.existing_id for r in rows if r.existing_id is not None]
    now = timezone.now()
    try:
        with transaction.atomic():
            users = []
            for row in new_rows:
                user = User(
                    username=f"t{secrets.token_hex(6)}",
                    name=row.name,
                    role=Role.TRAINEE,
                    date_joined=now,
                )
                user.set_phone(row.phone)
                user.set_unusable_password()
                users.append(user)
            User.objects.bulk_create(users, batch_size=500)
            profiles = []
            for user, row in zip(users, new_rows, strict=True):
                profile = TraineeProfile(user=user, created_at=now)
                profile.set_id_number(row.id_number)
                profiles.append(profile)
            TraineeProfile.objects.bulk_create(profiles, batch_size=500)
            # Already a member (a race with another import): the unique constraint refuses
            # a second membership, which is ignored here rather than failing the whole import.
            linked = len(
                set(link_ids)
                - set(
                    Membership.objects.filter(
                        institution=institution, trainee_id__in=link_ids
                    ).values_list("trainee_id", flat=True)
                )
            )
            Membership.objects.bulk_create(
                [
                    Membership(
                        trainee_id=pk,
                        institution=institution,
                        source=Membership.Source.IMPORT,
                        joined_at=now,
                    )
                    for pk in [p.pk for p in profiles] + link_ids
                ],
                batch_size=500,
                ignore_conflicts=True,
            )
            audit_log(
                action="trainee.import",
                actor=by,
                request=request,
                institution_id=institution.pk,
                detail={
                    "created": len(profiles),
                    "linked": linked,
                    "already_members": already_members,
                    "skipped_bad_rows": skipped_rows,
                    "only_good_rows": only_good_rows,
                },
            )
    except IntegrityError:
        # An ID number or phone taken since the sheet was checked: the unique indexes decide.
        raise ImportConflict(str(ImportConflict.message)) from None
    return ImportResult(created=len(profiles), linked=linked)
