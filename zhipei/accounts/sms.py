"""The configured SMS provider (console in development, Aliyun or Tencent Cloud in production)."""

from functools import cache

from django.conf import settings

from zhipei.lib.sms import (
    ALIYUN_ENDPOINT,
    TENCENT_ENDPOINT,
    AliyunSmsProvider,
    ConsoleSmsProvider,
    SmsProvider,
    TencentSmsProvider,
)


@cache
def sms_provider() -> SmsProvider:
    name = settings.SMS_PROVIDER
    if name == "aliyun":
        return AliyunSmsProvider(
            access_key_id=settings.SMS_ACCESS_KEY_ID,
            access_key_secret=settings.SMS_ACCESS_KEY_SECRET,
            sign_name=settings.SMS_SIGN_NAME,
            template_code=settings.SMS_TEMPLATE,
            endpoint=settings.SMS_ENDPOINT or ALIYUN_ENDPOINT,
        )
    if name == "tencent":
        return TencentSmsProvider(
            secret_id=settings.SMS_ACCESS_KEY_ID,
            secret_key=settings.SMS_ACCESS_KEY_SECRET,
            sdk_app_id=settings.SMS_SDK_APP_ID,
            sign_name=settings.SMS_SIGN_NAME,
            template_id=settings.SMS_TEMPLATE,
            region=settings.SMS_REGION,
            endpoint=settings.SMS_ENDPOINT or TENCENT_ENDPOINT,
        )
    return ConsoleSmsProvider()
