"""Production settings pass Django's deployment checklist and refuse to start half-configured."""

import base64
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    skip = ("ZHIPEI_", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    base = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def production_env(tmp_path: Path) -> dict[str, str]:
    key = base64.b64encode(os.urandom(32)).decode()
    return {
        "ZHIPEI_ENV": "production",
        "ZHIPEI_SECRET_KEY": base64.b64encode(os.urandom(48)).decode(),
        "ZHIPEI_FIELD_KEYS": f"k1:{key}",
        "ZHIPEI_BLIND_INDEX_KEY": base64.b64encode(os.urandom(32)).decode(),
        "ZHIPEI_CERT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        "ZHIPEI_ALLOWED_HOSTS": "peixun.example.gov.cn",
        "ZHIPEI_SMS_PROVIDER": "aliyun",
        "ZHIPEI_DATA_DIR": str(tmp_path),
    }


def test_check_deploy_reports_nothing(tmp_path):
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_secrets(tmp_path):
    env = production_env(tmp_path)
    del env["ZHIPEI_FIELD_KEYS"]
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "ZHIPEI_FIELD_KEY" in result.stderr
    env = production_env(tmp_path)
    del env["ZHIPEI_CERT_SIGNING_KEY"]
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "ZHIPEI_CERT_SIGNING_KEY" in result.stderr
    env = production_env(tmp_path)
    env["ZHIPEI_CERT_SIGNING_KEY"] = base64.b64encode(os.urandom(16)).decode()
    assert "base64 of 32 bytes" in run_manage("check", **env).stderr
    env = production_env(tmp_path)
    env["ZHIPEI_SMS_PROVIDER"] = "console"
    assert "not for production" in run_manage("check", **env).stderr


def test_secrets_can_come_from_files(tmp_path):
    env = production_env(tmp_path)
    secret_file = tmp_path / "secret"
    secret_file.write_text(env.pop("ZHIPEI_SECRET_KEY"))
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        ZHIPEI_SECRET_KEY_FILE=str(secret_file),
        **env,
    )
    assert result.returncode == 0, result.stderr


def test_pages_send_a_strict_content_security_policy(client, db):
    response = client.get("/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert "cdn" not in response.content.decode().lower()
    assert "http://" not in response.content.decode().replace("http://www.w3.org", "")
