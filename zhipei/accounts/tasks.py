"""Background work for accounts: delivering SMS codes through the vendor."""

import json
import logging

from celery import shared_task

from zhipei.accounts.sms import sms_provider
from zhipei.core.crypto import field_cipher
from zhipei.lib.sms import SmsError

log = logging.getLogger(__name__)


@shared_task(autoretry_for=(SmsError,), retry_backoff=2, max_retries=2)
def sms_deliver(token: str) -> str:
    """Send one verification code; ``token`` is the encrypted [phone, code] pair."""
    phone, code = json.loads(field_cipher().decrypt(token, context="sms.deliver"))
    return sms_provider().send_code(phone=phone, code=code)
