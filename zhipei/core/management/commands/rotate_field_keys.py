"""Re-encrypt every encrypted field with the current key and cipher, and rebuild blind indexes.

Rotation: put the new key first in ZHIPEI_FIELD_KEYS (keep the old ones after it), deploy, run
this command, then drop the old keys. Rows are rewritten in batches, each batch atomically.
"""

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.db.models import F, TextField
from django.db.models.functions import Cast
from django.utils.translation import ngettext

from zhipei.accounts.models import TraineeProfile, User, id_number_index, phone_index
from zhipei.core.crypto import field_cipher, reset_crypto_caches
from zhipei.core.fields import EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypt personal data with the current field key; rebuild blind indexes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        reset_crypto_caches()
        cipher = field_cipher()
        batch = options["batch_size"]
        for model in apps.get_models():
            fields = [f.name for f in model._meta.get_fields() if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            # Read the stored tokens as plain text (Cast skips the decrypting field type).
            raw = {f"raw_{name}": Cast(F(name), output_field=TextField()) for name in fields}
            rows = model._default_manager.annotate(**raw).values_list("pk", *raw.keys())
            stale = [
                r[0] for r in rows.iterator() if any(t and cipher.needs_rotation(t) for t in r[1:])
            ]
            for start in range(0, len(stale), batch):
                with transaction.atomic():
                    rows = model._default_manager.select_for_update().filter(
                        pk__in=stale[start : start + batch]
                    )
                    for obj in rows:
                        # Reading decrypted with whichever key; saving encrypts with the current one.
                        obj.save(update_fields=fields)
            self.stdout.write(
                ngettext(
                    "%(model)s: %(count)s 行已用密钥 %(key)s 重新加密",
                    "%(model)s: %(count)s 行已用密钥 %(key)s 重新加密",
                    len(stale),
                )
                % {"model": model._meta.label, "count": len(stale), "key": cipher.current_key_id}
            )
        self._reindex(batch)

    def _reindex(self, batch: int) -> None:
        """Blind indexes follow ZHIPEI_BLIND_INDEX_KEY; recompute them all (idempotent)."""
        changed = 0
        with transaction.atomic():
            for user in (
                User.objects.filter(phone_index__isnull=False)
                .only("pk", "phone", "phone_index")
                .iterator(batch)
            ):
                if user.phone and user.phone_index != phone_index(user.phone):
                    User.objects.filter(pk=user.pk).update(phone_index=phone_index(user.phone))
                    changed += 1
            for p in TraineeProfile.objects.only("pk", "id_number", "id_number_index").iterator(
                batch
            ):
                if p.id_number_index != id_number_index(p.id_number):
                    TraineeProfile.objects.filter(pk=p.pk).update(
                        id_number_index=id_number_index(p.id_number)
                    )
                    changed += 1
        self.stdout.write(
            ngettext("盲索引：%(count)s 行已更新", "盲索引：%(count)s 行已更新", changed)
            % {"count": changed}
        )
