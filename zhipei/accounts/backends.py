"""Session authentication backend: users are loaded by id; credentials are checked in services."""

from typing import Any

from django.http import HttpRequest

from zhipei.accounts.models import User


class ZhipeiBackend:
    # Logins go through accounts.services (SMS code, password + TOTP), never authenticate().
    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> None:
        return None

    def get_user(self, user_id: int) -> User | None:
        # A trainee's profile comes in the same query: nearly every trainee view needs it.
        user = (
            User.objects.select_related("institution", "region", "trainee_profile")
            .filter(pk=user_id)
            .first()
        )
        return user if user is not None and user.is_active else None

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return False
