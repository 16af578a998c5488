"""SMS verification-code senders: a development console, Alibaba Cloud and Tencent Cloud.

The vendors' request signatures are implemented from their public API documentation with
the standard library only, so no vendor SDK is needed.
"""

import base64
import hashlib
import hmac
import http.client
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from zhipei.lib.i18n import gettext as _
from zhipei.lib.phone import normalize_mobile

__all__ = [
    "ALIYUN_ENDPOINT",
    "TENCENT_ENDPOINT",
    "AliyunSmsProvider",
    "ConsoleSmsProvider",
    "SmsError",
    "SmsProvider",
    "TencentSmsProvider",
    "aliyun_percent_encode",
    "aliyun_rpc_signature",
    "tc3_authorization",
]

logger = logging.getLogger("zhipei.sms")

ALIYUN_ENDPOINT: Final = "https://dysmsapi.aliyuncs.com/"
ALIYUN_API_VERSION: Final = "2017-05-25"
TENCENT_ENDPOINT: Final = "https://sms.tencentcloudapi.com"
TENCENT_API_VERSION: Final = "2021-01-11"
TC3_ALGORITHM: Final = "TC3-HMAC-SHA256"
JSON_CONTENT_TYPE: Final = "application/json; charset=utf-8"
# Vendor answers are a few hundred bytes; the cap keeps a misbehaving server from filling memory.
_MAX_RESPONSE_BYTES = 1 << 20


class SmsError(Exception):
    """Sending failed; the message says what the vendor (or the network) answered."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class SmsProvider(Protocol):
    """Anything that can deliver a verification code to a mainland mobile number."""

    def send_code(self, *, phone: str, code: str) -> str:
        """Send ``code`` to ``phone`` and return the vendor's request or business id."""
        ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _uuid_nonce() -> str:
    return str(uuid.uuid4())


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(_("now() 必须返回带时区的时间（datetime.now(UTC)）"))
    return moment.astimezone(UTC)


def _checked_endpoint(endpoint: str) -> str:
    """Refuse anything but http(s) URLs: urllib would also open file:// and ftp://."""
    parts = urllib.parse.urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            _("短信接口地址“%(endpoint)s”无效，应以 https:// 开头") % {"endpoint": endpoint}
        )
    return urllib.parse.urlunsplit(parts._replace(path=parts.path or "/"))


def _fetch(request: urllib.request.Request, *, timeout: float, vendor: str) -> tuple[int, bytes]:
    """Perform the request; return (HTTP status, body) even for 4xx/5xx answers."""
    try:
        # The scheme was restricted to http(s) by _checked_endpoint.
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read(_MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:
        # Both vendors explain rejections in a JSON body even on 4xx/5xx statuses.
        try:
            return exc.code, exc.read(_MAX_RESPONSE_BYTES)
        except (OSError, http.client.HTTPException):
            return exc.code, b""
        finally:
            exc.close()
    except (OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise SmsError(
            _("%(vendor)s短信接口无法访问：%(reason)s") % {"vendor": vendor, "reason": reason}
        ) from exc


def _json_object(body: bytes, *, status: int, vendor: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise SmsError(
            _("%(vendor)s短信接口返回了无法识别的应答（HTTP %(status)s）")
            % {"vendor": vendor, "status": status}
        )
    return data


def _failure(vendor: str, code: str, message: object) -> str:
    if message:
        return _("%(vendor)s短信发送失败：%(code)s（%(message)s）") % {
            "vendor": vendor,
            "code": code,
            "message": message,
        }
    return _("%(vendor)s短信发送失败：%(code)s") % {"vendor": vendor, "code": code}


class ConsoleSmsProvider:
    """Development stand-in that writes the code to the log instead of sending it."""

    def send_code(self, *, phone: str, code: str) -> str:
        """Log the code at WARNING level on the "zhipei.sms" logger; return "console"."""
        logger.warning("[SMS] 发送验证码 %s 至 %s", code, phone)
        return "console"


# --------------------------------------------------------------------------- Alibaba Cloud


def aliyun_percent_encode(text: str) -> str:
    """Percent-encode as Alibaba Cloud RPC signing requires (RFC 3986 unreserved kept).

    This equals URL-encoding followed by "+" -> "%20", "*" -> "%2A" and "%7E" -> "~".
    """
    return urllib.parse.quote(text, safe="~", encoding="utf-8")


def _aliyun_canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(
        f"{aliyun_percent_encode(name)}={aliyun_percent_encode(value)}"
        for name, value in sorted(params.items())
        if name != "Signature"
    )


def aliyun_rpc_signature(params: Mapping[str, str], secret: str, method: str = "GET") -> str:
    """Return the Alibaba Cloud RPC (signature version 1.0, HMAC-SHA1) signature, base64."""
    string_to_sign = "&".join(
        (
            method.upper(),
            aliyun_percent_encode("/"),
            aliyun_percent_encode(_aliyun_canonical_query(params)),
        )
    )
    # The documented key is the AccessKey secret followed by "&".
    mac = hmac.new((secret + "&").encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


class AliyunSmsProvider:
    """Alibaba Cloud SMS ``SendSms`` (dysmsapi, API version 2017-05-25) over signed GET."""

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        template_code: str,
        endpoint: str = ALIYUN_ENDPOINT,
        timeout: float = 5.0,
        *,
        now: Callable[[], datetime] = _utc_now,
        nonce: Callable[[], str] = _uuid_nonce,
    ) -> None:
        self.access_key_id = access_key_id
        self._secret = access_key_secret
        self.sign_name = sign_name
        self.template_code = template_code
        self.endpoint = _checked_endpoint(endpoint)
        self.timeout = timeout
        self._now = now
        self._nonce = nonce

    def __repr__(self) -> str:
        return (
            f"AliyunSmsProvider(access_key_id={self.access_key_id!r}, endpoint={self.endpoint!r})"
        )

    def signed_params(self, *, phone: str, code: str) -> dict[str, str]:
        """Return the complete, signed query parameters of one SendSms request."""
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": normalize_mobile(phone),
            "RegionId": "cn-hangzhou",
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": self._nonce(),
            "SignatureVersion": "1.0",
            "TemplateCode": self.template_code,
            "TemplateParam": json.dumps({"code": code}, separators=(",", ":")),
            "Timestamp": _as_utc(self._now()).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": ALIYUN_API_VERSION,
        }
        params["Signature"] = aliyun_rpc_signature(params, self._secret, "GET")
        return params

    def send_code(self, *, phone: str, code: str) -> str:
        """Send the code; return the BizId, or raise SmsError with the vendor's Code."""
        params = self.signed_params(phone=phone, code=code)
        query = "&".join(
            f"{aliyun_percent_encode(name)}={aliyun_percent_encode(value)}"
            for name, value in params.items()
        )
        separator = "&" if urllib.parse.urlsplit(self.endpoint).query else "?"
        request = urllib.request.Request(  # noqa: S310 - endpoint checked in __init__
            self.endpoint + separator + query, headers={"Accept": "application/json"}
        )
        vendor = _("阿里云")
        status, body = _fetch(request, timeout=self.timeout, vendor=vendor)
        data = _json_object(body, status=status, vendor=vendor)
        vendor_code = str(data.get("Code", ""))
        if vendor_code == "OK":
            return str(data.get("BizId") or data.get("RequestId") or "")
        raise SmsError(
            _failure(vendor, vendor_code or f"HTTP {status}", data.get("Message")),
            code=vendor_code or None,
        )


# --------------------------------------------------------------------------- Tencent Cloud


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def tc3_authorization(
    *,
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    payload: bytes,
    timestamp: int,
    content_type: str = JSON_CONTENT_TYPE,
) -> str:
    """Return the Authorization header of a Tencent Cloud API 3.0 POST (TC3-HMAC-SHA256).

    Signs the headers content-type and host, the URI "/" and an empty query string.
    """
    signed_headers = "content-type;host"
    canonical_request = "\n".join(
        (
            "POST",
            "/",
            "",
            f"content-type:{content_type.strip().lower()}\nhost:{host.strip().lower()}\n",
            signed_headers,
            _sha256_hex(payload),
        )
    )
    # The credential date is the UTC date of the timestamp, not the local (UTC+8) one.
    day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{day}/{service}/tc3_request"
    string_to_sign = "\n".join(
        (TC3_ALGORITHM, str(timestamp), scope, _sha256_hex(canonical_request.encode("utf-8")))
    )
    secret_date = _hmac_sha256(("TC3" + secret_key).encode("utf-8"), day)
    secret_service = _hmac_sha256(secret_date, service)
    secret_signing = _hmac_sha256(secret_service, "tc3_request")
    signature = hmac.new(secret_signing, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return (
        f"{TC3_ALGORITHM} Credential={secret_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )


class TencentSmsProvider:
    """Tencent Cloud SMS ``SendSms`` (API version 2021-01-11), POST JSON signed with TC3."""

    def __init__(
        self,
        secret_id: str,
        secret_key: str,
        sdk_app_id: str,
        sign_name: str,
        template_id: str,
        region: str = "ap-guangzhou",
        endpoint: str = TENCENT_ENDPOINT,
        timeout: float = 5.0,
        *,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.secret_id = secret_id
        self._secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name
        self.template_id = template_id
        self.region = region
        self.endpoint = _checked_endpoint(endpoint)
        # The signed host must equal the Host header sent, so it comes from the endpoint.
        self.host = urllib.parse.urlsplit(self.endpoint).netloc
        self.timeout = timeout
        self._now = now

    def __repr__(self) -> str:
        return f"TencentSmsProvider(secret_id={self.secret_id!r}, endpoint={self.endpoint!r})"

    def signed_request(self, *, phone: str, code: str) -> tuple[dict[str, str], bytes]:
        """Return the headers and JSON body of one signed SendSms request."""
        payload = json.dumps(
            {
                "PhoneNumberSet": ["+86" + normalize_mobile(phone)],
                "SmsSdkAppId": self.sdk_app_id,
                "SignName": self.sign_name,
                "TemplateId": self.template_id,
                "TemplateParamSet": [code],
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
        timestamp = int(_as_utc(self._now()).timestamp())
        headers = {
            "Authorization": tc3_authorization(
                secret_id=self.secret_id,
                secret_key=self._secret_key,
                service="sms",
                host=self.host,
                payload=payload,
                timestamp=timestamp,
            ),
            "Content-Type": JSON_CONTENT_TYPE,
            "Host": self.host,
            "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": TENCENT_API_VERSION,
            "X-TC-Region": self.region,
            "X-TC-Language": "zh-CN",
        }
        return headers, payload

    def send_code(self, *, phone: str, code: str) -> str:
        """Send the code; return the SerialNo (or RequestId), or raise SmsError."""
        headers, payload = self.signed_request(phone=phone, code=code)
        request = urllib.request.Request(  # noqa: S310 - endpoint checked in __init__
            self.endpoint, data=payload, headers=headers, method="POST"
        )
        vendor = _("腾讯云")
        status, body = _fetch(request, timeout=self.timeout, vendor=vendor)
        data = _json_object(body, status=status, vendor=vendor)
        response = data.get("Response")
        if not isinstance(response, dict):
            raise SmsError(
                _("腾讯云短信接口返回了无法识别的应答（HTTP %(status)s）") % {"status": status}
            )
        error = response.get("Error")
        if isinstance(error, dict):
            vendor_code = str(error.get("Code", ""))
            raise SmsError(_failure(vendor, vendor_code, error.get("Message")), code=vendor_code)
        statuses = response.get("SendStatusSet")
        if not isinstance(statuses, list) or not statuses or not isinstance(statuses[0], dict):
            raise SmsError(_("腾讯云短信接口的应答中没有发送状态"))
        first = statuses[0]
        vendor_code = str(first.get("Code", ""))
        if vendor_code != "Ok":
            raise SmsError(_failure(vendor, vendor_code, first.get("Message")), code=vendor_code)
        return str(first.get("SerialNo") or response.get("RequestId") or "")
