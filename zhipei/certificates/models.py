"""Certificates: a 学时证明 or 结业证明 whose printed content is frozen at issue and signed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Certificate(models.Model):
    """One issued certificate. ``content`` is exactly what is printed and what the signature
    covers; it is never recomputed from live data (hours or names changing later do not alter
    an issued certificate). A mistake is corrected by revoking and issuing anew."""

    class Kind(models.TextChoices):
        HOURS = "hours", _("学时证明")
        COMPLETION = "completion", _("结业证明")

    serial = models.CharField(_("证书编号"), max_length=32, unique=True)
    kind = models.CharField(_("证书类型"), max_length=20, choices=Kind.choices)
    trainee = models.ForeignKey(
        "accounts.TraineeProfile", on_delete=models.PROTECT, related_name="certificates"
    )
    institution = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="certificates"
    )
    training_class = models.ForeignKey(
        "courses.TrainingClass",
        on_delete=models.PROTECT,
        related_name="certificates",
        verbose_name=_("培训班"),
    )
    content = models.JSONField(_("证书内容"))
    signature = models.CharField(_("签名"), max_length=100)
    key_id = models.CharField(_("签名密钥标识"), max_length=32)
    issued_at = models.DateTimeField(_("签发时间"), default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("签发人"),
    )
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("撤销人"),
    )
    revoke_reason = models.CharField(_("撤销原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("证书")
        verbose_name_plural = _("证书")
        ordering = ["-issued_at", "-id"]
        constraints = [
            # Re-issuing returns the live certificate; a new one only after revocation.
            models.UniqueConstraint(
                fields=["trainee", "training_class", "kind"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_live_certificate",
            )
        ]
        indexes = [models.Index(fields=["institution", "issued_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.serial}"

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def signature_fragment(self) -> str:
        """The first characters of the signature, carried in the QR code's URL."""
        return self.signature[:16]
