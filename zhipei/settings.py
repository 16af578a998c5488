"""Zhipei settings: one module, every value from the environment (see README "Configuration").

The embedded default needs nothing: SQLite and files under ``var/``, keys generated there on
first use. Production (``ZHIPEI_ENV=production``) refuses to start without real secrets.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    return os.getenv(name, default).strip().lower() in ("1", "true", "yes", "on")


def envint(name: str, default: int) -> int:
    raw = os.getenv(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def envfloat(name: str, default: float) -> float:
    raw = os.getenv(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


def envsecret(name: str) -> str:
    """The value of NAME, or the contents of the file named by NAME_FILE (Docker/K8s secrets)."""
    if path := os.getenv(f"{name}_FILE"):
        return Path(path).read_text(encoding="utf-8").strip()
    return os.getenv(name, "").strip()


ENVIRONMENT = os.getenv("ZHIPEI_ENV", "development").strip().lower()
PRODUCTION = ENVIRONMENT == "production"
DATA_DIR = Path(os.getenv("ZHIPEI_DATA_DIR", str(BASE_DIR / "var"))).resolve()


def _local_secret(name: str, make: str) -> str:
    """A secret kept in DATA_DIR/keys for the embedded default; created once, mode 0600.

    Written with O_EXCL so that parallel test workers racing here all read the same key.
    """
    if PRODUCTION:
        raise ImproperlyConfigured(f"{name} must be set in production (or {name}_FILE)")
    keydir = DATA_DIR / "keys"
    keydir.mkdir(parents=True, exist_ok=True)
    path = keydir / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(make)
    return make


def _new_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


SECRET_KEY = envsecret("ZHIPEI_SECRET_KEY") or _local_secret(
    "ZHIPEI_SECRET_KEY", secrets.token_urlsafe(50)
)
DEBUG = envbool("ZHIPEI_DEBUG", "0") and not PRODUCTION
ALLOWED_HOSTS = [
    h.strip() for h in os.getenv("ZHIPEI_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.getenv("ZHIPEI_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
SITE_URL = os.getenv("ZHIPEI_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_NAME = os.getenv("ZHIPEI_SITE_NAME", gettext_lazy("职培 · 职业技能线上培训平台"))

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "zhipei.core",
    "zhipei.audit",
    "zhipei.institutions",
    "zhipei.accounts",
    "zhipei.faces",
    "zhipei.courses",
    "zhipei.study",
    "zhipei.exams",
    "zhipei.certificates",
    "zhipei.records",
    "zhipei.archive",
    "zhipei.trainee",
    "zhipei.console",
    "zhipei.portal",
    "zhipei.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "zhipei.core.middleware.content_security_policy",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "zhipei.accounts.middleware.SessionGuardMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "zhipei.urls"
WSGI_APPLICATION = "zhipei.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "zhipei" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "zhipei.core.context_processors.site",
            ],
        },
    },
]


def database_from_url(url: str) -> dict[str, object]:
    """Parse DATABASE_URL: postgres://user:pass@host:port/name?opt=v or sqlite:///path."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        name = unquote(parts.path[1:]) if parts.path.startswith("//") else unquote(parts.path)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name or str(DATA_DIR / "zhipei.sqlite3"),
            # IMMEDIATE makes a transaction take the write lock at BEGIN, so read-then-write
            # sections (the audit hash chain, SMS rate limits) are serialised as on PostgreSQL.
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    if parts.scheme in ("postgres", "postgresql", "pgsql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            # Server-side binding, and statements prepared once a connection has run them 5
            # times (psycopg's threshold): the parameters travel apart from the statement, and
            # PostgreSQL plans a frequent statement once per connection. A heartbeat's write
            # cost PostgreSQL 180 µs unprepared, 110 prepared (docs/ARCHITECTURE.md, Databases).
            "OPTIONS": {
                "server_side_binding": envbool("ZHIPEI_DB_SERVER_SIDE_BINDING", "1"),
                "prepare_threshold": _prepare_threshold(),
                **dict(parse_qsl(parts.query)),
            },
            "CONN_MAX_AGE": envint("ZHIPEI_DB_CONN_MAX_AGE", 60),
            "CONN_HEALTH_CHECKS": True,
        }
    raise ImproperlyConfigured(f"DATABASE_URL scheme {parts.scheme!r} is not supported")


def _prepare_threshold() -> int | None:
    """ZHIPEI_DB_PREPARE_THRESHOLD: runs of a statement on a connection before it is prepared;
    empty: never (PgBouncer in transaction mode, unless 1.21+ with max_prepared_statements)."""
    value = os.getenv("ZHIPEI_DB_PREPARE_THRESHOLD", "5").strip()
    return int(value) if value else None


DATABASE_URL = envsecret("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {"default": database_from_url(f"sqlite:///{DATA_DIR / 'zhipei.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.getenv("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["zhipei.accounts.backends.ZhipeiBackend"]
LOGIN_URL = "trainee:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "zhipei.accounts.validators.CharacterClassValidator"},
]

LANGUAGE_CODE = "zh-hans"
# Each language by its own name (the language menu shows it so, whatever the interface language).
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]  # i18n: data
LOCALE_PATHS = [BASE_DIR / "zhipei" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "zhipei" / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.getenv("ZHIPEI_MEDIA_ROOT", str(DATA_DIR / "media")))

# Object storage (S3 protocol: Aliyun OSS, Tencent COS, MinIO, Ceph...) for uploads.
ZHIPEI_STORAGE = os.getenv("ZHIPEI_STORAGE", "local")
STORAGES: dict[str, dict[str, object]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if ZHIPEI_STORAGE == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.getenv("ZHIPEI_S3_BUCKET", ""),
            "endpoint_url": os.getenv("ZHIPEI_S3_ENDPOINT_URL") or None,
            "region_name": os.getenv("ZHIPEI_S3_REGION") or None,
            "access_key": envsecret("ZHIPEI_S3_ACCESS_KEY"),
            "secret_key": envsecret("ZHIPEI_S3_SECRET_KEY"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
elif ZHIPEI_STORAGE != "local":
    raise ImproperlyConfigured("ZHIPEI_STORAGE must be 'local' or 's3'")
if not PRODUCTION:
    # Tests and the demo serve static files straight from the apps, no collectstatic needed.
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    WHITENOISE_USE_FINDERS = True
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# Field-level encryption of personal data (ID numbers, phones, later face data).
# ZHIPEI_FIELD_KEYS: "id:base64key,..." - the first is current; older ones only decrypt.
FIELD_CIPHER = os.getenv("ZHIPEI_FIELD_CIPHER", "sm4-gcm")
FIELD_KEYS = envsecret("ZHIPEI_FIELD_KEYS") or (
    "k1:" + _local_secret("ZHIPEI_FIELD_KEY", _new_key())
)
BLIND_INDEX_KEY = envsecret("ZHIPEI_BLIND_INDEX_KEY") or _local_secret(
    "ZHIPEI_BLIND_INDEX_KEY", _new_key()
)
# Digest for blind indexes and the audit hash chain: "sm3" (national) or "sha256".
ZHIPEI_HASH = os.getenv("ZHIPEI_HASH", "sm3")
if FIELD_CIPHER not in ("sm4-gcm", "aes-gcm") or ZHIPEI_HASH not in ("sm3", "sha256"):
    raise ImproperlyConfigured("ZHIPEI_FIELD_CIPHER: sm4-gcm|aes-gcm; ZHIPEI_HASH: sm3|sha256")

# SMS verification codes.
SMS_PROVIDER = os.getenv("ZHIPEI_SMS_PROVIDER", "console")  # console | aliyun | tencent
SMS_ENDPOINT = os.getenv("ZHIPEI_SMS_ENDPOINT", "")  # empty: the vendor's public endpoint
SMS_ACCESS_KEY_ID = envsecret("ZHIPEI_SMS_ACCESS_KEY_ID")
SMS_ACCESS_KEY_SECRET = envsecret("ZHIPEI_SMS_ACCESS_KEY_SECRET")
SMS_SIGN_NAME = os.getenv("ZHIPEI_SMS_SIGN_NAME", "")
SMS_TEMPLATE = os.getenv("ZHIPEI_SMS_TEMPLATE", "")
SMS_SDK_APP_ID = os.getenv("ZHIPEI_SMS_SDK_APP_ID", "")  # Tencent only
SMS_REGION = os.getenv("ZHIPEI_SMS_REGION", "ap-guangzhou")  # Tencent only
SMS_CODE_TTL_SECONDS = envint("ZHIPEI_SMS_CODE_TTL_SECONDS", 300)
SMS_CODE_MAX_ATTEMPTS = envint("ZHIPEI_SMS_CODE_MAX_ATTEMPTS", 5)
SMS_RESEND_SECONDS = envint("ZHIPEI_SMS_RESEND_SECONDS", 60)
SMS_DAILY_LIMIT_PER_PHONE = envint("ZHIPEI_SMS_DAILY_LIMIT_PER_PHONE", 10)
SMS_DAILY_LIMIT_PER_IP = envint("ZHIPEI_SMS_DAILY_LIMIT_PER_IP", 10)
if PRODUCTION and SMS_PROVIDER == "console":
    raise ImproperlyConfigured("ZHIPEI_SMS_PROVIDER=console only prints codes; not for production")

# Login security (等保 2.0 level 3).
LOGIN_MAX_FAILURES = envint("ZHIPEI_LOGIN_MAX_FAILURES", 5)
LOGIN_LOCK_MINUTES = envint("ZHIPEI_LOGIN_LOCK_MINUTES", 15)
STAFF_IDLE_MINUTES = envint("ZHIPEI_STAFF_IDLE_MINUTES", 30)
TRAINEE_IDLE_MINUTES = envint("ZHIPEI_TRAINEE_IDLE_MINUTES", 120)
PASSWORD_MAX_AGE_DAYS = envint("ZHIPEI_PASSWORD_MAX_AGE_DAYS", 90)
TRUST_X_FORWARDED_FOR = envbool("ZHIPEI_TRUST_X_FORWARDED_FOR", "0")
MIN_TRAINEE_AGE = envint("ZHIPEI_MIN_TRAINEE_AGE", 14)

# Face identity (see docs/FACES.md for how the defaults were chosen).
FACE_MATCH_THRESHOLD = envfloat("ZHIPEI_FACE_MATCH_THRESHOLD", 0.5)
FACE_DUPLICATE_THRESHOLD = envfloat("ZHIPEI_FACE_DUPLICATE_THRESHOLD", 0.5)
FACE_MIN_FACE_PX = envint("ZHIPEI_FACE_MIN_FACE_PX", 80)  # enrolment
FACE_VERIFY_MIN_FACE_PX = envint("ZHIPEI_FACE_VERIFY_MIN_FACE_PX", 60)
FACE_BURST_MIN_FRAMES = envint("ZHIPEI_FACE_BURST_MIN_FRAMES", 3)
FACE_BURST_MAX_FRAMES = envint("ZHIPEI_FACE_BURST_MAX_FRAMES", 8)
# Active liveness (blink / turn / open mouth, judged on 68-point landmarks) per purpose. The 68-point
# model's training data (iBUG 300-W) excludes commercial use: ZHIPEI_FACE_ACTIVE_LIVENESS=0 turns it off.
FACE_ACTIVE_LIVENESS = envbool("ZHIPEI_FACE_ACTIVE_LIVENESS", "1")
# Re-checks too: a still photo with small brightness changes can pass the passive check alone.
FACE_ACTIVE_PURPOSES = envlist(
    "ZHIPEI_FACE_ACTIVE_PURPOSES", "enrol,study_start,study_recheck,exam_start,exam_recheck"
)
FACE_REPLAY_LOOKBACK = envint("ZHIPEI_FACE_REPLAY_LOOKBACK", 50)
FACE_CHALLENGE_SECONDS = envint("ZHIPEI_FACE_CHALLENGE_SECONDS", 120)
FACE_NON_FACE_VALID_HOURS = envint("ZHIPEI_FACE_NON_FACE_VALID_HOURS", 12)
# Storing the faces of 100,000 people must be filed with the provincial cyberspace office.
FACE_FILING_LIMIT = envint("ZHIPEI_FACE_FILING_LIMIT", 100_000)
FACE_FILING_WARN_AT = envint("ZHIPEI_FACE_FILING_WARN_AT", 90_000)
# Lesson video links are signed for one user and expire: a copied link soon stops working.
LESSON_URL_SECONDS = envint("ZHIPEI_LESSON_URL_SECONDS", 600)

# Supervised study (docs/STUDY.md). Institutions may tighten each number, never loosen it.
MINUTES_PER_XUESHI = envint("ZHIPEI_MINUTES_PER_XUESHI", 45)
STUDY_PROFILE = os.getenv("ZHIPEI_STUDY_PROFILE", "standard")  # standard | strict
_STRICT = STUDY_PROFILE == "strict"
STUDY_HEARTBEAT_SECONDS = envint("ZHIPEI_STUDY_HEARTBEAT_SECONDS", 10)
STUDY_MAX_GAP_SECONDS = envint("ZHIPEI_STUDY_MAX_GAP_SECONDS", 30)
STUDY_FACE_CHECK_MIN_MINUTES = envfloat("ZHIPEI_STUDY_FACE_CHECK_MIN_MINUTES", 5)
STUDY_FACE_CHECK_MAX_MINUTES = envfloat("ZHIPEI_STUDY_FACE_CHECK_MAX_MINUTES", 10)
STUDY_FACE_RESPONSE_SECONDS = envint("ZHIPEI_STUDY_FACE_RESPONSE_SECONDS", 60)
STUDY_FACE_MAX_FAILURES = envint("ZHIPEI_STUDY_FACE_MAX_FAILURES", 3)
STUDY_QUIZ_MIN_MINUTES = envfloat("ZHIPEI_STUDY_QUIZ_MIN_MINUTES", 8)
STUDY_QUIZ_MAX_MINUTES = envfloat("ZHIPEI_STUDY_QUIZ_MAX_MINUTES", 15)
STUDY_QUIZ_SECONDS = envint("ZHIPEI_STUDY_QUIZ_SECONDS", 60)
STUDY_QUIZ_WRONG_POLICY = os.getenv(
    "ZHIPEI_STUDY_QUIZ_WRONG_POLICY", "ask_again"
)  # ask_again | rewind | pause
if STUDY_QUIZ_WRONG_POLICY not in ("ask_again", "rewind", "pause"):
    raise ImproperlyConfigured("ZHIPEI_STUDY_QUIZ_WRONG_POLICY must be ask_again, rewind or pause")
STUDY_QUIZ_MAX_WRONG = envint("ZHIPEI_STUDY_QUIZ_MAX_WRONG", 3)  # in a row: void + face check
STUDY_QUIZ_REWIND_SECONDS = envint("ZHIPEI_STUDY_QUIZ_REWIND_SECONDS", 60)
STUDY_IDLE_MINUTES = envfloat("ZHIPEI_STUDY_IDLE_MINUTES", 5)
STUDY_IDLE_RESPONSE_SECONDS = envint("ZHIPEI_STUDY_IDLE_RESPONSE_SECONDS", 60)
STUDY_DAILY_CAP_XUESHI = envint("ZHIPEI_STUDY_DAILY_CAP_XUESHI", 4 if _STRICT else 8)
STUDY_MIN_SEGMENT_SECONDS = envint("ZHIPEI_STUDY_MIN_SEGMENT_SECONDS", 300 if _STRICT else 0)
# A lesson is complete when its credited time reaches its duration less this slack (heartbeat granularity).
STUDY_COMPLETION_SLACK_SECONDS = envint("ZHIPEI_STUDY_COMPLETION_SLACK_SECONDS", 3)
STUDY_TOKEN_SECONDS = envint("ZHIPEI_STUDY_TOKEN_SECONDS", 12 * 3600)  # heartbeat token lifetime
# PostgreSQL: a heartbeat's fast-path write commits without waiting for its WAL flush. A crash of
# the database may lose the last fraction of a second of heartbeats; the next one then finds the
# older row and the ledger treats the lost ones as a gap (docs/STUDY.md, Capacity).
STUDY_HEARTBEAT_ASYNC_COMMIT = envbool("ZHIPEI_STUDY_HEARTBEAT_ASYNC_COMMIT", "1")
# The console's live monitor (实时监控) polls for fresh rows this often (docs/CONSOLE.md).
CONSOLE_LIVE_REFRESH_SECONDS = envint("ZHIPEI_CONSOLE_LIVE_REFRESH_SECONDS", 3)
# Staff of one institution watching the same monitor share one reading of it for this long (the
# cache; 0: every refresh reads the database).
CONSOLE_LIVE_SHARE_SECONDS = envint("ZHIPEI_CONSOLE_LIVE_SHARE_SECONDS", 1)

# --- exams -------------------------------------------------------------------------------------
EXAM_PASS_MARK = envint("ZHIPEI_EXAM_PASS_MARK", 60)  # out of 100; an exam may set a higher one
# A face match opens the exam for this long: the attempt must be started within it, once.
EXAM_START_FACE_SECONDS = envint("ZHIPEI_EXAM_START_FACE_SECONDS", 300)
EXAM_FACE_CHECK_MIN_MINUTES = envfloat("ZHIPEI_EXAM_FACE_CHECK_MIN_MINUTES", 5)
EXAM_FACE_CHECK_MAX_MINUTES = envfloat("ZHIPEI_EXAM_FACE_CHECK_MAX_MINUTES", 10)
EXAM_FACE_RESPONSE_SECONDS = envint("ZHIPEI_EXAM_FACE_RESPONSE_SECONDS", 60)
EXAM_FACE_MAX_FAILURES = envint("ZHIPEI_EXAM_FACE_MAX_FAILURES", 3)  # in a row: attempt void
# An answer that left the browser just before the deadline may arrive this much after it.
EXAM_GRACE_SECONDS = envint("ZHIPEI_EXAM_GRACE_SECONDS", 2)

# --- certificates (docs/CERTIFICATES.md) ------------------------------------------------------
# Ed25519 key that signs certificates: base64 of the raw 32-byte private key. Its key id is derived
# from the public key. Retired keys' public halves (base64, comma-separated) still verify the
# certificates they signed.
CERT_SIGNING_KEY = envsecret("ZHIPEI_CERT_SIGNING_KEY") or _local_secret(
    "ZHIPEI_CERT_SIGNING_KEY", _new_key()
)
CERT_RETIRED_PUBLIC_KEYS = envlist("ZHIPEI_CERT_RETIRED_PUBLIC_KEYS", "")
try:
    if len(base64.b64decode(CERT_SIGNING_KEY, validate=True)) != 32:
        raise ValueError
except ValueError:
    raise ImproperlyConfigured("ZHIPEI_CERT_SIGNING_KEY must be base64 of 32 bytes") from None
# Unknown serials one address may look up per hour on the public verification page.
CERT_VERIFY_MISSES_PER_HOUR = envint("ZHIPEI_CERT_VERIFY_MISSES_PER_HOUR", 30)

# --- learning-record exports (docs/CONSOLE.md) -----------------------------------------------
# Exports of at most this many rows stream at once; larger ones run as a background job.
EXPORT_INLINE_MAX_ROWS = envint("ZHIPEI_EXPORT_INLINE_MAX_ROWS", 20_000)
# A finished export's download link works this long; then `exports_purge` deletes the file.
EXPORT_LINK_HOURS = envint("ZHIPEI_EXPORT_LINK_HOURS", 24)

# Logins live in the database; with Redis they are also cached there, so that a request reads its
# session from Redis rather than from PostgreSQL (written through to both; revocation unchanged).
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if REDIS_URL
    else "django.contrib.sessions.backends.db"
)
SESSION_COOKIE_AGE = 12 * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = envbool("ZHIPEI_SSL_REDIRECT", "1")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("ZHIPEI_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if envbool("ZHIPEI_BEHIND_PROXY", "0"):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("ZHIPEI_SECRET_KEY must be at least 50 random characters")

# Background work: Celery on Redis when a broker is configured, inline otherwise.
CELERY_BROKER_URL = os.getenv("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = os.getenv("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.getenv("ZHIPEI_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # fpdf2's font subsetting logs every table it touches at INFO.
        "fontTools": {"level": "WARNING"},
    },
}
