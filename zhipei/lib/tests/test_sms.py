"""Tests for the SMS providers: published signature vectors and local fake vendor servers.

The fake servers verify signatures with their own implementation of the vendors'
documented algorithms (written here, not imported from zhipei.lib.sms), so a mistake in
the signer cannot be mirrored by the verifier.
"""

import base64
import hashlib
import hmac
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from zhipei.lib.phone import InvalidPhone
from zhipei.lib.sms import (
    AliyunSmsProvider,
    ConsoleSmsProvider,
    SmsError,
    SmsProvider,
    TencentSmsProvider,
    aliyun_percent_encode,
    aliyun_rpc_signature,
    tc3_authorization,
)

ALIYUN_KEY_ID = "LTAI5tTestKeyId"
ALIYUN_SECRET = "aliyun-test-secret"
TENCENT_SECRET_ID = "AKIDtestSecretId"
TENCENT_SECRET_KEY = "tencent-test-secret-key"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # The fake vendors listen on 127.0.0.1; a proxy from the environment must not intercept.
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")


# ------------------------------------------------------------------ published vectors


def test_aliyun_rpc_signature_documented_describe_regions_example():
    # Alibaba Cloud "RPC signature mechanism" example: AccessKeySecret "testsecret".
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }
    assert aliyun_rpc_signature(params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    # The Signature parameter itself never takes part in signing.
    signed = {**params, "Signature": "OLeaidS1JvxuMvnyHOwuJ+uX5qY="}
    assert aliyun_rpc_signature(signed, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_aliyun_rpc_signature_documented_send_sms_example():
    # Alibaba Cloud SMS "HTTP protocol and signature" example, with a Chinese SignName.
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert aliyun_rpc_signature(params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_aliyun_percent_encoding_rules():
    assert aliyun_percent_encode("a b*c~d/e+f") == "a%20b%2Ac~d%2Fe%2Bf"
    assert aliyun_percent_encode("-_.~AZaz09") == "-_.~AZaz09"
    assert aliyun_percent_encode("短") == "%E7%9F%AD"


TC3_DOC_PAYLOAD = (
    b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
)


def test_tc3_authorization_documented_cvm_example():
    # Tencent Cloud API 3.0 "Signature v3" example (CVM DescribeInstances, 1551113065).
    assert hashlib.sha256(TC3_DOC_PAYLOAD).hexdigest() == (
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )
    authorization = tc3_authorization(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        service="cvm",
        host="cvm.tencentcloudapi.com",
        payload=TC3_DOC_PAYLOAD,
        timestamp=1551113065,
    )
    assert authorization == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/"
        "tc3_request, SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


def test_tc3_authorization_documented_cvm_example_masked_key_edition():
    # Later editions of the same page print the key as "Gu5t9xGARNpq86cd98joQYCN3*******"
    # with signature 2230eefd...; both editions share the canonical request above.
    authorization = tc3_authorization(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3*******",
        service="cvm",
        host="cvm.tencentcloudapi.com",
        payload=TC3_DOC_PAYLOAD,
        timestamp=1551113065,
    )
    assert authorization.endswith(
        "Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
    )


# --------------------------------------------------- independent verifiers (the "vendor")


def pop_percent_encode(text: str) -> str:
    """Alibaba's documented rule, byte by byte: only A-Z a-z 0-9 - _ . ~ stay literal."""
    keep = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
    return "".join(chr(b) if b in keep else f"%{b:02X}" for b in text.encode("utf-8"))


def aliyun_expected_signature(method: str, params: dict[str, str], secret: str) -> str:
    pairs = sorted(
        (pop_percent_encode(k), pop_percent_encode(v))
        for k, v in params.items()
        if k != "Signature"
    )
    canonical = "&".join(f"{k}={v}" for k, v in pairs)
    to_sign = f"{method}&{pop_percent_encode('/')}&{pop_percent_encode(canonical)}"
    mac = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def tc3_expected_signature(
    secret_key: str, timestamp: str, scope: str, canonical_request: str
) -> str:
    day, service, _ = scope.split("/")

    def sign(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    string_to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            timestamp,
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = sign(sign(sign(f"TC3{secret_key}".encode(), day), service), "tc3_request")
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


class FakeVendor(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.requests: list[dict[str, Any]] = []
        self.nonces: set[str] = set()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeVendor

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def reply(self, status: int, body: dict[str, Any] | str) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class AliyunHandler(_Handler):
    """Alibaba Cloud dysmsapi SendSms, as far as its documentation describes it."""

    secrets = {ALIYUN_KEY_ID: ALIYUN_SECRET}

    def error(self, status: int, code: str, message: str) -> None:
        self.reply(
            status,
            {
                "RequestId": str(uuid.uuid4()).upper(),
                "HostId": "dysmsapi.aliyuncs.com",
                "Code": code,
                "Message": message,
            },
        )

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.server.requests.append(params)
        required = [
            "AccessKeyId",
            "Action",
            "Format",
            "PhoneNumbers",
            "SignName",
            "SignatureMethod",
            "SignatureNonce",
            "SignatureVersion",
            "TemplateCode",
            "Timestamp",
            "Version",
            "Signature",
        ]
        missing = [name for name in required if not params.get(name)]
        if parts.path != "/" or missing:
            return self.error(400, "MissingParameter", f"missing {missing}")
        if (params["Action"], params["Version"]) != ("SendSms", "2017-05-25"):
            return self.error(404, "InvalidAction.NotFound", "Specified api is not found")
        if (params["SignatureMethod"], params["SignatureVersion"]) != ("HMAC-SHA1", "1.0"):
            return self.error(400, "InvalidSignatureMethod", "bad signature method")
        sent = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if abs(datetime.now(UTC) - sent) > timedelta(minutes=15):
            return self.error(400, "InvalidTimeStamp.Expired", "timestamp expired")
        secret = self.secrets.get(params["AccessKeyId"])
        if secret is None:
            return self.error(
                404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
            )
        expected = aliyun_expected_signature("GET", params, secret)
        if not hmac.compare_digest(expected, params["Signature"]):
            return self.error(
                400, "SignatureDoesNotMatch", "Specified signature does not match our calculation."
            )
        if params["SignatureNonce"] in self.server.nonces:
            return self.error(
                400, "SignatureNonceUsed", "Specified signature nonce was used already."
            )
        self.server.nonces.add(params["SignatureNonce"])
        if params["PhoneNumbers"] == "13900000000":
            # Business errors come back with HTTP 200.
            return self.reply(
                200,
                {
                    "Message": "触发小时级流控Permits:5",
                    "RequestId": str(uuid.uuid4()).upper(),
                    "Code": "isv.BUSINESS_LIMIT_CONTROL",
                },
            )
        if params["PhoneNumbers"] == "13900000001":
            return self.reply(502, "<html><body>502 Bad Gateway</body></html>")
        self.reply(
            200,
            {
                "Message": "OK",
                "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990",
                "Code": "OK",
                "BizId": "900619746936498440^0",
            },
        )


class TencentHandler(_Handler):
    """Tencent Cloud SMS SendSms (2021-01-11) behind TC3-HMAC-SHA256, per its documentation."""

    secrets = {TENCENT_SECRET_ID: TENCENT_SECRET_KEY}
    authorization = re.compile(
        r"TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<scope>\d{4}-\d\d-\d\d/[a-z]+/tc3_request), "
        r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
    )

    def error(self, code: str, message: str) -> None:
        # API 3.0 reports errors with HTTP 200 and Response.Error.
        self.reply(
            200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "e-1"}}
        )

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.requests.append(
            {"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        )
        match = self.authorization.fullmatch(self.headers.get("Authorization", ""))
        if match is None:
            return self.error("AuthFailure.InvalidAuthorization", "Authorization 格式不正确")
        if self.headers.get("X-TC-Action") != "SendSms":
            return self.error("InvalidAction", "接口不存在")
        if self.headers.get("X-TC-Version") != "2021-01-11" or not self.headers.get("X-TC-Region"):
            return self.error("InvalidParameter", "版本或地域缺失")
        timestamp = self.headers.get("X-TC-Timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            return self.error("AuthFailure.SignatureExpire", "签名过期")
        day, service, _ = match["scope"].split("/")
        if day != datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d"):
            return self.error("AuthFailure.SignatureFailure", "凭证日期与时间戳不符")
        if service != "sms":
            return self.error("AuthFailure.SignatureFailure", "服务名不符")
        secret_key = self.secrets.get(match["id"])
        if secret_key is None:
            return self.error("AuthFailure.SecretIdNotFound", "密钥不存在")
        signed = match["signed"].split(";")
        if signed != sorted(signed) or not {"content-type", "host"} <= set(signed):
            return self.error("AuthFailure.SignatureFailure", "签名头不完整")
        headers = "".join(
            f"{name}:{self.headers.get(name, '').strip().lower()}\n" for name in signed
        )
        canonical = "\n".join(
            ["POST", "/", "", headers, match["signed"], hashlib.sha256(body).hexdigest()]
        )
        expected = tc3_expected_signature(secret_key, timestamp, match["scope"], canonical)
        if self.path != "/" or not hmac.compare_digest(expected, match["signature"]):
            return self.error(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. "
                "Please check your signature is correct.",
            )
        payload = json.loads(body)
        phones = payload["PhoneNumberSet"]
        if not payload.get("SmsSdkAppId") or not payload.get("TemplateId"):
            return self.error("MissingParameter", "缺少参数")
        if phones == ["+8613900000000"]:
            status = {
                "SerialNo": "",
                "PhoneNumber": phones[0],
                "Fee": 0,
                "SessionContext": "",
                "Code": "LimitExceeded.PhoneNumberDailyLimit",
                "Message": "单个手机号日下发短信条数超过设定的上限",
                "IsoCode": "CN",
            }
        else:
            status = {
                "SerialNo": "5000:1045710669157053657849499619",
                "PhoneNumber": phones[0],
                "Fee": 1,
                "SessionContext": "",
                "Code": "Ok",
                "Message": "send success",
                "IsoCode": "CN",
            }
        self.reply(
            200,
            {
                "Response": {
                    "SendStatusSet": [status],
                    "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279",
                }
            },
        )


def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[FakeVendor]:
    server = FakeVendor(handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def aliyun() -> Iterator[FakeVendor]:
    yield from _serve(AliyunHandler)


@pytest.fixture
def tencent() -> Iterator[FakeVendor]:
    yield from _serve(TencentHandler)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_server() -> Iterator[str]:
    # Accepts connections (via the listen backlog) but never answers.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"


def make_aliyun(url: str, **kwargs: Any) -> AliyunSmsProvider:
    return AliyunSmsProvider(
        kwargs.pop("access_key_id", ALIYUN_KEY_ID),
        kwargs.pop("access_key_secret", ALIYUN_SECRET),
        "职培平台",
        "SMS_154950909",
        endpoint=url,
        timeout=kwargs.pop("timeout", 2.0),
        **kwargs,
    )


def make_tencent(url: str, **kwargs: Any) -> TencentSmsProvider:
    return TencentSmsProvider(
        kwargs.pop("secret_id", TENCENT_SECRET_ID),
        kwargs.pop("secret_key", TENCENT_SECRET_KEY),
        "1400006666",
        "职培平台",
        "449739",
        endpoint=url,
        timeout=kwargs.pop("timeout", 2.0),
        **kwargs,
    )


# ---------------------------------------------------------------------------- console


def test_console_provider_logs_the_code(caplog):
    provider: SmsProvider = ConsoleSmsProvider()
    with caplog.at_level(logging.WARNING, logger="zhipei.sms"):
        assert provider.send_code(phone="13812345678", code="123456") == "console"
    [record] = caplog.records
    assert record.name == "zhipei.sms"
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "[SMS] 发送验证码 123456 至 13812345678"


# ----------------------------------------------------------------------------- aliyun


def test_aliyun_success(aliyun):
    provider: SmsProvider = make_aliyun(aliyun.url)
    assert provider.send_code(phone="+86 138-1234-5678", code="123456") == "900619746936498440^0"
    [params] = aliyun.requests
    assert params["PhoneNumbers"] == "13812345678"
    assert params["TemplateParam"] == '{"code":"123456"}'
    assert params["SignName"] == "职培平台"
    assert params["TemplateCode"] == "SMS_154950909"
    assert params["Format"] == "JSON"
    assert params["RegionId"] == "cn-hangzhou"
    assert uuid.UUID(params["SignatureNonce"]).version == 4


def test_aliyun_uses_a_fresh_nonce_per_request(aliyun):
    provider = make_aliyun(aliyun.url)
    provider.send_code(phone="13812345678", code="111111")
    provider.send_code(phone="13812345678", code="222222")
    assert len(aliyun.nonces) == 2


def test_aliyun_replayed_nonce_is_rejected_by_the_vendor(aliyun):
    provider = make_aliyun(aliyun.url, nonce=lambda: "fixed-nonce")
    provider.send_code(phone="13812345678", code="111111")
    with pytest.raises(SmsError) as info:
        provider.send_code(phone="13812345678", code="222222")
    assert info.value.code == "SignatureNonceUsed"


def test_aliyun_wrong_secret_is_rejected(aliyun):
    provider = make_aliyun(aliyun.url, access_key_secret="not-the-secret")
    with pytest.raises(SmsError) as info:
        provider.send_code(phone="13812345678", code="123456")
    assert info.value.code == "SignatureDoesNotMatch"
    assert "SignatureDoesNotMatch" in str(info.value)
    assert "not-the-secret" not in str(info.value)


def test_aliyun_unknown_access_key(aliyun):
    with pytest.raises(SmsError) as info:
        make_aliyun(aliyun.url, access_key_id="LTAI-other").send_code(
            phone="13812345678", code="123456"
        )
    assert info.value.code == "InvalidAccessKeyId.NotFound"


def test_aliyun_business_limit_control(aliyun):
    with pytest.raises(SmsError) as info:
        make_aliyun(aliyun.url).send_code(phone="13900000000", code="123456")
    assert info.value.code == "isv.BUSINESS_LIMIT_CONTROL"
    assert "触发小时级流控" in str(info.value)


def test_aliyun_non_json_gateway_error(aliyun):
    with pytest.raises(SmsError, match="HTTP 502"):
        make_aliyun(aliyun.url).send_code(phone="13900000001", code="123456")


def test_aliyun_signed_params_are_deterministic_with_injected_clock_and_nonce():
    beijing = timezone(timedelta(hours=8))
    provider = make_aliyun(
        "https://dysmsapi.aliyuncs.com/",
        now=lambda: datetime(2017, 7, 12, 10, 42, 19, tzinfo=beijing),
        nonce=lambda: "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    )
    params = provider.signed_params(phone="13812345678", code="654321")
    assert params["Timestamp"] == "2017-07-12T02:42:19Z"
    assert params["SignatureNonce"] == "45e25e9b-0a6f-4070-8c85-2956eda1b466"
    assert params["Signature"] == aliyun_expected_signature("GET", params, ALIYUN_SECRET)
    assert params == provider.signed_params(phone="13812345678", code="654321")


def test_aliyun_unreachable_endpoint_fails_fast(closed_port):
    provider = make_aliyun(f"http://127.0.0.1:{closed_port}/", timeout=1.0)
    started = time.monotonic()
    with pytest.raises(SmsError, match="无法访问"):
        provider.send_code(phone="13812345678", code="123456")
    assert time.monotonic() - started < 1.5


def test_aliyun_silent_server_times_out(silent_server):
    provider = make_aliyun(silent_server, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(SmsError, match="无法访问"):
        provider.send_code(phone="13812345678", code="123456")
    assert time.monotonic() - started < 1.5


def test_providers_reject_non_http_endpoints():
    with pytest.raises(ValueError):
        make_aliyun("file:///etc/passwd")
    with pytest.raises(ValueError):
        make_tencent("ftp://example.com/")


def test_providers_reject_invalid_phone_numbers_before_sending():
    with pytest.raises(InvalidPhone):
        make_aliyun("http://127.0.0.1:9/").send_code(phone="12345", code="1")
    with pytest.raises(InvalidPhone):
        make_tencent("http://127.0.0.1:9/").send_code(phone="12345", code="1")


def test_provider_repr_hides_the_secret():
    assert ALIYUN_SECRET not in repr(make_aliyun("https://dysmsapi.aliyuncs.com/"))
    assert TENCENT_SECRET_KEY not in repr(make_tencent("https://sms.tencentcloudapi.com"))


def test_naive_clock_is_refused():
    provider = make_aliyun("https://dysmsapi.aliyuncs.com/", now=lambda: datetime(2024, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError):
        provider.signed_params(phone="13812345678", code="1")


# ---------------------------------------------------------------------------- tencent


def test_tencent_success(tencent):
    provider: SmsProvider = make_tencent(tencent.url)
    serial = provider.send_code(phone="138 1234 5678", code="123456")
    assert serial == "5000:1045710669157053657849499619"
    [request] = tencent.requests
    payload = json.loads(request["body"])
    assert payload == {
        "PhoneNumberSet": ["+8613812345678"],
        "SmsSdkAppId": "1400006666",
        "SignName": "职培平台",
        "TemplateId": "449739",
        "TemplateParamSet": ["123456"],
    }
    headers = request["headers"]
    assert headers["x-tc-action"] == "SendSms"
    assert headers["x-tc-version"] == "2021-01-11"
    assert headers["x-tc-region"] == "ap-guangzhou"
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["host"] == urlsplit(tencent.url).netloc


def test_tencent_wrong_secret_is_rejected(tencent):
    with pytest.raises(SmsError) as info:
        make_tencent(tencent.url, secret_key="wrong").send_code(phone="13812345678", code="1")
    assert info.value.code == "AuthFailure.SignatureFailure"
    assert "AuthFailure.SignatureFailure" in str(info.value)


def test_tencent_unknown_secret_id(tencent):
    with pytest.raises(SmsError) as info:
        make_tencent(tencent.url, secret_id="AKIDother").send_code(phone="13812345678", code="1")
    assert info.value.code == "AuthFailure.SecretIdNotFound"


def test_tencent_stale_clock_is_rejected(tencent):
    provider = make_tencent(tencent.url, now=lambda: datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(SmsError) as info:
        provider.send_code(phone="13812345678", code="1")
    assert info.value.code == "AuthFailure.SignatureExpire"


def test_tencent_send_status_failure(tencent):
    with pytest.raises(SmsError) as info:
        make_tencent(tencent.url).send_code(phone="13900000000", code="123456")
    assert info.value.code == "LimitExceeded.PhoneNumberDailyLimit"
    assert "日下发短信条数超过" in str(info.value)


def test_tencent_signed_request_is_deterministic_with_injected_clock():
    provider = make_tencent(
        "https://sms.tencentcloudapi.com",
        now=lambda: datetime.fromtimestamp(1551113065, UTC),
    )
    headers, payload = provider.signed_request(phone="13812345678", code="123456")
    assert headers["X-TC-Timestamp"] == "1551113065"
    assert headers["Host"] == "sms.tencentcloudapi.com"
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            "content-type:application/json; charset=utf-8\nhost:sms.tencentcloudapi.com\n",
            "content-type;host",
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    signature = tc3_expected_signature(
        TENCENT_SECRET_KEY, "1551113065", "2019-02-25/sms/tc3_request", canonical
    )
    assert headers["Authorization"] == (
        f"TC3-HMAC-SHA256 Credential={TENCENT_SECRET_ID}/2019-02-25/sms/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )


def test_tencent_unreachable_endpoint_fails_fast(closed_port):
    provider = make_tencent(f"http://127.0.0.1:{closed_port}", timeout=1.0)
    started = time.monotonic()
    with pytest.raises(SmsError, match="无法访问"):
        provider.send_code(phone="13812345678", code="123456")
    assert time.monotonic() - started < 1.5


def test_tencent_silent_server_times_out(silent_server):
    provider = make_tencent(silent_server, timeout=0.3)
    with pytest.raises(SmsError, match="无法访问"):
        provider.send_code(phone="13812345678", code="123456")
