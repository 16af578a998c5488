"""Account writes: registration, SMS codes, logins with lock-out, TOTP, consent.

Each service runs atomically and writes its audit entry. Views only parse input and call these.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from zhipei.accounts.models import (
    PLATFORM_ROLES,
    ConsentDocument,
    ConsentRecord,
    Membership,
    RecoveryCode,
    Role,
    SmsCode,
    TraineeProfile,
    User,
    id_number_index,
    phone_index,
)
from zhipei.audit.models import AuditEntry
from zhipei.audit.services import audit_log, db_lock
from zhipei.core.crypto import field_cipher
from zhipei.core.http import client_ip
from zhipei.institutions.models import Institution
from zhipei.lib.crypto import derive_key, digest, keyed_digest

RECOVERY_CODE_COUNT = 10
log = logging.getLogger(__name__)


class AccountError(Exception):
    """A refusal with a stable code for APIs and a Chinese message for people."""

    code = "ACCOUNT_ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class SmsRateLimited(AccountError):
    code = "SMS_RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LoginLocked(AccountError):
    code = "ACCOUNT_LOCKED"


# --- SMS verification codes -------------------------------------------------------------


def _code_hash(index: str, purpose: str, code: str) -> str:
    # Keyed, because a bare hash of a 6-digit code is reversed by trying all million.
    key = derive_key(settings.SECRET_KEY.encode(), purpose="zhipei sms code", length=32)
    return keyed_digest(key, f"{index}:{purpose}:{code}".encode())


def _local_midnight(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def sms_code_send(*, phone: str, purpose: str, ip: str | None) -> None:
    """Issue a 6-digit code for ``phone`` (already normalised) or raise SmsRateLimited.

    For a login code to a phone with no account nothing is sent, but the answer, the timing
    and the rate limits are the same, so the endpoint does not reveal who is registered.
    """
    index = phone_index(phone)
    now = timezone.now()
    midnight = _local_midnight(now)
    retry_midnight = int((midnight + timedelta(days=1) - now).total_seconds()) + 1
    with transaction.atomic():
        # Count-then-insert must not race: parallel requests would each see room under the limit.
        db_lock(f"sms:{index}")
        db_lock(f"sms-ip:{ip}")
        recent = SmsCode.objects.filter(phone_index=index, created_at__gte=midnight)
        last = recent.order_by("-created_at").values_list("created_at", flat=True).first()
        if last and (now - last).total_seconds() < settings.SMS_RESEND_SECONDS:
            wait = settings.SMS_RESEND_SECONDS - int((now - last).total_seconds())
            raise SmsRateLimited(
                ngettext(
                    "发送过于频繁，请%(seconds)s秒后再试",
                    "发送过于频繁，请%(seconds)s秒后再试",
                    wait,
                )
                % {"seconds": wait},
                retry_after=wait,
            )
        if recent.count() >= settings.SMS_DAILY_LIMIT_PER_PHONE:
            raise SmsRateLimited(
                _("该手机号今日获取验证码次数已达上限，请明天再试"), retry_after=retry_midnight
            )
        # An unknown IP is one bucket of its own, never a way around the limit.
        same_ip = SmsCode.objects.filter(ip=ip) if ip else SmsCode.objects.filter(ip__isnull=True)
        if same_ip.filter(created_at__gte=midnight).count() >= settings.SMS_DAILY_LIMIT_PER_IP:
            raise SmsRateLimited(
                _("当前网络今日获取验证码次数已达上限，请明天再试"), retry_after=retry_midnight
            )
        deliver = (
            purpose != SmsCode.Purpose.LOGIN
            or User.objects.filter(phone_index=index, is_active=True).exists()
        )
        code = f"{secrets.randbelow(1_000_000):06d}"
        SmsCode.objects.create(
            phone_index=index,
            purpose=purpose,
            code_hash=_code_hash(index, purpose, code),
            ip=ip,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.SMS_CODE_TTL_SECONDS),
            delivered=deliver,
        )
        if deliver:
            # The phone and code cross the broker encrypted, never in clear.
            token = field_cipher().encrypt(json.dumps([phone, code]), context="sms.deliver")
            transaction.on_commit(lambda: _queue_sms(token))


def _queue_sms(token: str) -> None:
    """Hand the code to the SMS task. A vendor failure is logged, not shown: with a broker the
    task runs later anyway, and the person can ask again after the resend interval."""
    from zhipei.accounts.tasks import sms_deliver

    try:
        sms_deliver.delay(token)
    except Exception:
        log.exception("短信验证码发送失败")


def sms_code_verify(*, phone: str, purpose: str, code: str) -> bool:
    """True once for the newest live code; wrong tries are counted and end the code at the limit."""
    index = phone_index(phone)
    now = timezone.now()
    with transaction.atomic():
        sms = (
            SmsCode.objects.select_for_update()
            .filter(
                phone_index=index, purpose=purpose, consumed_at__isnull=True, expires_at__gt=now
            )
            .order_by("-created_at")
            .first()
        )
        if sms is None or sms.attempts >= settings.SMS_CODE_MAX_ATTEMPTS:
            return False
        if not hmac.compare_digest(sms.code_hash, _code_hash(index, purpose, code.strip())):
            SmsCode.objects.filter(pk=sms.pk).update(attempts=F("attempts") + 1)
            return False
        sms.consumed_at = now
        sms.save(update_fields=["consumed_at"])
        return True


# --- Trainee registration and login --------------------------------------------------------


def trainee_register(
    *,
    institution: Institution,
    name: str,
    id_number: str,
    phone: str,
    consent: ConsentDocument,
    request: HttpRequest | None = None,
) -> User:
    """Create the real-name trainee (ID number and phone already validated and SMS-verified)."""
    # One message for both: the page must not confirm whose ID number is registered.
    taken = _("该身份证号或手机号已注册，请直接登录；如有疑问请联系培训机构")
    if TraineeProfile.objects.filter(id_number_index=id_number_index(id_number)).exists():
        raise AccountError(taken, code="ALREADY_REGISTERED")
    if User.objects.filter(phone_index=phone_index(phone)).exists():
        raise AccountError(taken, code="ALREADY_REGISTERED")
    try:
        with transaction.atomic():
            user = User(username=f"t{secrets.token_hex(6)}", name=name, role=Role.TRAINEE)
            user.set_phone(phone)
            user.set_unusable_password()
            user.save()
            profile = TraineeProfile(user=user)
            profile.set_id_number(id_number)
            profile.save()
            Membership.objects.create(
                trainee=profile, institution=institution, source=Membership.Source.SELF
            )
            ConsentRecord.objects.create(
                user=user,
                document=consent,
                action=ConsentRecord.Action.ACCEPT,
                ip=client_ip(request) if request else None,
            )
            audit_log(
                action="trainee.register",
                actor=user,
                request=request,
                target=profile,
                institution_id=institution.pk,
                detail={"consent": f"{consent.kind}:{consent.version}"},
            )
    except IntegrityError:
        # Two registrations raced past the checks above; the unique indexes decided.
        raise AccountError(
            _("该身份证号或手机号已注册，请直接登录"), code="ALREADY_REGISTERED"
        ) from None
    return user


def trainee_for_phone(phone: str) -> User | None:
    return User.objects.filter(phone_index=phone_index(phone), role=Role.TRAINEE).first()


def trainee_sms_login(*, phone: str, code: str, request: HttpRequest) -> User:
    """Check the code and return the trainee; the same message whether or not the phone exists.

    No account lock-out here: guessing is already bounded by each code's 5 tries and the send
    limits, and a lock anyone could trigger without a code would reveal who is registered.
    """
    user = trainee_for_phone(phone)
    if not sms_code_verify(phone=phone, purpose=SmsCode.Purpose.LOGIN, code=code) or user is None:
        audit_log(
            action="login.failure",
            actor=user,
            request=request,
            result=AuditEntry.Result.FAILURE,
            detail={"method": "sms", "reason": "bad_code"},
        )
        raise AccountError(_("验证码错误或已过期"), code="BAD_CODE")
    if not user.is_active:
        raise AccountError(_("账号已停用，请联系培训机构"), code="ACCOUNT_DISABLED")
    _login_succeeded(user, request, method="sms")
    return user


# --- Staff login: password, then TOTP ------------------------------------------------------


def _locked_message(user: User) -> str:
    until = timezone.localtime(user.locked_until or timezone.now())
    return _("登录失败次数过多，账号已锁定至 %(until)s，请稍后再试或联系安全管理员") % {
        "until": f"{until:%H:%M}"
    }


def _login_failed(user: User, request: HttpRequest | None, *, reason: str) -> None:
    audit_log(
        action="login.failure",
        actor=user,
        request=request,
        result=AuditEntry.Result.FAILURE,
        detail={"reason": reason, "locked": user.is_locked()},
    )


def _login_succeeded(user: User, request: HttpRequest | None, *, method: str) -> None:
    User.objects.filter(pk=user.pk).update(failed_logins=0, last_login=timezone.now())
    audit_log(action="login.success", actor=user, request=request, detail={"method": method})


def _count_attempt(user: User) -> User:
    """Take the user's row lock, refuse a locked account, and count this attempt BEFORE the
    secret is checked, so parallel guesses cannot all slip in under the limit. A right secret
    takes its count back (_uncount); a full success resets the counter (_login_succeeded)."""
    with transaction.atomic():
        row = User.objects.select_for_update().get(pk=user.pk)
        if row.is_locked():
            raise LoginLocked(_locked_message(row))
        if row.locked_until is not None:  # a lock that has run out starts a fresh count
            row.failed_logins, row.locked_until = 0, None
        row.failed_logins += 1
        if row.failed_logins >= settings.LOGIN_MAX_FAILURES:
            row.locked_until = timezone.now() + timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
        row.save(update_fields=["failed_logins", "locked_until"])
    return row


def _uncount(user: User) -> None:
    """The password was right after all: this attempt neither counts nor locks."""
    with transaction.atomic():
        row = User.objects.select_for_update().get(pk=user.pk)
        if row.failed_logins >= settings.LOGIN_MAX_FAILURES:
            row.locked_until = None
        row.failed_logins = max(0, row.failed_logins - 1)
        row.save(update_fields=["failed_logins", "locked_until"])


def _unknown_user_attempt(username: str) -> bool:
    """Failures for usernames that do not exist are counted too (in the cache), so that the
    lock-out message cannot tell real usernames from made-up ones. True when 'locked'."""
    key = "login-fail:" + digest(username.lower().encode(), hash="sha256")
    cache.add(key, 0, timeout=settings.LOGIN_LOCK_MINUTES * 60)
    try:
        count = cache.incr(key)
    except ValueError:
        count = 1
    return count >= settings.LOGIN_MAX_FAILURES


def staff_check_password(*, username: str, password: str, request: HttpRequest) -> User:
    """First factor. Unknown user and wrong password give the same answers, locks included."""
    user = User.objects.filter(username=username).exclude(role=Role.TRAINEE).first()
    if user is None:
        # Spend the same time as a real check so timing does not reveal valid usernames.
        make_password(password)
        audit_log(
            action="login.failure",
            request=request,
            actor_label=username[:150],
            result=AuditEntry.Result.FAILURE,
            detail={"reason": "unknown_user"},
        )
        if _unknown_user_attempt(username):
            until = timezone.localtime() + timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
            raise LoginLocked(
                _("登录失败次数过多，账号已锁定至 %(until)s，请稍后再试或联系安全管理员")
                % {"until": f"{until:%H:%M}"}
            )
        raise AccountError(_("用户名或密码错误"), code="BAD_CREDENTIALS")
    try:
        counted = _count_attempt(user)
    except LoginLocked:
        audit_log(
            action="login.failure",
            actor=user,
            request=request,
            result=AuditEntry.Result.DENIED,
            detail={"reason": "locked"},
        )
        raise
    if not user.check_password(password) or not user.is_active:
        _login_failed(counted, request, reason="password")
        if counted.is_locked():
            raise LoginLocked(_locked_message(counted))
        raise AccountError(_("用户名或密码错误"), code="BAD_CREDENTIALS")
    # Right password: its count is taken back; the counter resets after the second factor.
    _uncount(user)
    return user


def _totp(user: User) -> pyotp.TOTP:
    return pyotp.TOTP(user.totp_secret, issuer="Zhipei")


def _totp_step_ok(user: User, code: str) -> int | None:
    """The time step the code belongs to (±1 step of clock drift), if valid and not replayed."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6) or not user.totp_secret:
        return None
    totp = _totp(user)
    now_step = int(timezone.now().timestamp()) // totp.interval
    for step in (now_step, now_step - 1, now_step + 1):
        if step > user.totp_last_step and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def staff_second_factor(*, user: User, code: str, request: HttpRequest) -> None:
    """Second factor: a TOTP code, or one unused recovery code. Failures count to lock-out."""
    counted = _count_attempt(user)
    step = _totp_step_ok(counted, code)
    # Claim the time step atomically: two parallel submissions of one code cannot both win.
    if step is not None and User.objects.filter(pk=user.pk, totp_last_step__lt=step).update(
        totp_last_step=step
    ):
        _login_succeeded(user, request, method="password+totp")
        return
    if _recovery_code_use(user, code):
        _login_succeeded(user, request, method="password+recovery_code")
        return
    _login_failed(counted, request, reason="totp")
    if counted.is_locked():
        raise LoginLocked(_locked_message(counted))
    raise AccountError(_("动态验证码错误"), code="BAD_TOTP")


def totp_setup_begin(*, user: User) -> str:
    """A fresh, unconfirmed secret; returns the otpauth:// URI for the QR code."""
    if user.totp_enabled:
        raise AccountError(_("已绑定动态口令，如需更换请联系安全管理员"), code="TOTP_ALREADY_SET")
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
        user.save(update_fields=["totp_secret"])
    return _totp(user).provisioning_uri(name=user.username, issuer_name=_("Zhipei 职培"))


def totp_setup_confirm(*, user: User, code: str, request: HttpRequest) -> list[str]:
    """Confirm the device with one code; returns recovery codes, shown once and stored hashed."""
    step = _totp_step_ok(user, code)
    if step is None:
        raise AccountError(_("动态验证码错误，请核对手机时间后重试"), code="BAD_TOTP")
    codes = [
        f"{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}"
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    with transaction.atomic():
        user.totp_confirmed_at = timezone.now()
        user.totp_last_step = step
        user.save(update_fields=["totp_confirmed_at", "totp_last_step"])
        user.recovery_codes.all().delete()
        RecoveryCode.objects.bulk_create(
            RecoveryCode(user=user, code_hash=make_password(c)) for c in codes
        )
        audit_log(action="totp.enrol", actor=user, request=request)
    _login_succeeded(user, request, method="password+totp_enrol")
    return codes


def _recovery_code_use(user: User, code: str) -> bool:
    code = code.strip().lower()
    if len(code) != 14:
        return False
    with transaction.atomic():
        for rc in user.recovery_codes.select_for_update().filter(used_at__isnull=True):
            if check_password(code, rc.code_hash):
                rc.used_at = timezone.now()
                rc.save(update_fields=["used_at"])
                return True
    return False


def password_change(*, user: User, new_password: str, request: HttpRequest) -> None:
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password", "password_changed_at"])
        audit_log(action="password.change", actor=user, request=request)


# --- Security officer actions ---------------------------------------------------------------


def account_unlock(*, target: User, by: User, request: HttpRequest) -> None:
    with transaction.atomic():
        User.objects.filter(pk=target.pk).update(locked_until=None, failed_logins=0)
        audit_log(
            action="account.unlock",
            actor=by,
            request=request,
            target=target,
            institution_id=target.institution_id,
        )


def account_totp_reset(*, target: User, by: User, request: HttpRequest) -> None:
    """The user enrols a new device at next login (for a lost phone)."""
    with transaction.atomic():
        User.objects.filter(pk=target.pk).update(
            totp_secret="", totp_confirmed_at=None, totp_last_step=0
        )
        target.recovery_codes.all().delete()
        audit_log(
            action="account.totp_reset",
            actor=by,
            request=request,
            target=target,
            institution_id=target.institution_id,
        )


# --- Consent ----------------------------------------------------------------------------------


def consent_accept(*, user: User, document: ConsentDocument, request: HttpRequest) -> None:
    with transaction.atomic():
        ConsentRecord.objects.create(
            user=user, document=document, action=ConsentRecord.Action.ACCEPT, ip=client_ip(request)
        )
        audit_log(
            action="consent.accept",
            actor=user,
            request=request,
            target=document,
            detail={"kind": document.kind, "version": document.version},
        )


def consent_withdraw(*, user: User, document: ConsentDocument, request: HttpRequest) -> None:
    with transaction.atomic():
        ConsentRecord.objects.create(
            user=user,
            document=document,
            action=ConsentRecord.Action.WITHDRAW,
            ip=client_ip(request),
        )
        audit_log(
            action="consent.withdraw",
            actor=user,
            request=request,
            target=document,
            detail={"kind": document.kind, "version": document.version},
        )
        if document.kind == ConsentDocument.Kind.BIOMETRIC and hasattr(user, "trainee_profile"):
            # Withdrawn face consent: the templates go at once, in the same transaction.
            from zhipei.faces.services import face_templates_erase

            face_templates_erase(trainee=user.trainee_profile, request=request)


@dataclass
class StaffAccount:
    user: User
    password: str


def staff_create(
    *,
    username: str,
    name: str,
    role: str,
    by: User | None,
    request: HttpRequest | None = None,
    institution: Institution | None = None,
    region_id: str | None = None,
    regulator_office: str = "",
    password: str | None = None,
    phone: str = "",
) -> StaffAccount:
    """Create a staff account with a one-time password if none is given (must be changed)."""
    if by is not None and by.role == Role.OPERATOR and role in PLATFORM_ROLES:
        # 三员分立: the operator must not mint an auditor or security officer it could use itself.
        raise AccountError(_("平台运维管理员不能创建平台管理类账号"), code="ROLE_NOT_ALLOWED")
    initial = password or secrets.token_urlsafe(12)
    with transaction.atomic():
        user = User(
            username=username,
            name=name,
            role=role,
            institution=institution,
            region_id=region_id,
            regulator_office=regulator_office,
        )
        if phone:
            user.set_phone(phone)
        user.set_password(initial)
        if password is None:
            user.password_changed_at = None  # forces a change at first login
        user.save()
        audit_log(
            action="account.create",
            actor=by,
            request=request,
            target=user,
            institution_id=institution.pk if institution else None,
            detail={"role": role},
        )
    return StaffAccount(user=user, password=initial)
