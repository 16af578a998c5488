"""What every console view needs to know about the person using it."""

from __future__ import annotations

from django.http import Http404

from zhipei.accounts.models import User
from zhipei.institutions.models import Institution


def own_institution(user: User) -> Institution:
    """The console user's institution (a database constraint guarantees staff have one)."""
    if user.institution is None:
        raise Http404
    return user.institution
