from __future__ import annotations

import pytest

from zhipei.certificates.tests.helpers import add_member, make_class


@pytest.fixture
def training_class(personas):
    """Institution A's class (2 学时 required) with its trainee as a member."""
    training_class = make_class(personas.course, required="2")
    add_member(training_class, personas.trainee.trainee_profile)
    return training_class


@pytest.fixture
def profile(personas):
    return personas.trainee.trainee_profile
