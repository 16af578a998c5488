"""factory_boy factories shared by every app's tests."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import factory

from zhipei.accounts.models import Membership, Role, TraineeProfile, User
from zhipei.institutions.models import Institution, Region
from zhipei.lib.creditcode import make_credit_code
from zhipei.lib.idnumber import compute_check_digit

_serial = itertools.count(1)
# Trainees numbered by the factory live apart from those a test numbers itself (small n): a long
# test run must not reach a number a later test asks for.
IMPLICIT_BASE = 1_000_000


def id_number_for(n: int, birth: str = "19900101", area: str = "331102") -> str:
    first17 = f"{area}{birth}{n % 1000:03d}"
    return first17 + compute_check_digit(first17)


def phone_for(n: int) -> str:
    return f"139{n:08d}"


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Institution

    name = factory.Sequence(lambda n: f"丽水第{n}职业技能培训学校")
    credit_code = factory.Sequence(lambda n: make_credit_code(f"52331102MJ{n:07d}"))
    licence_no = factory.Sequence(lambda n: f"教民133110270{n:05d}")
    kind = Institution.Kind.VOCATIONAL
    region = factory.LazyFunction(lambda: Region.objects.get(code="331102"))
    legal_person = "王建国"
    contact_name = "李老师"
    contact_phone = "13905780001"
    address = "浙江省丽水市莲都区人民街1号"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    name = "测试用户"
    role = Role.INSTITUTION_ADMIN
    password = factory.PostGenerationMethodCall("set_password", "Zhipei-Test-2026!")

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


def make_trainee(institution: Institution, *, name: str = "张三", n: int | None = None) -> User:
    """A registered trainee with real-name profile and membership of ``institution``."""
    n = n if n is not None else IMPLICIT_BASE + next(_serial)
    user = User(username=f"t{n:07d}x{next(_serial)}", name=name, role=Role.TRAINEE)
    user.set_phone(phone_for(n))
    user.set_unusable_password()
    user.save()
    profile = TraineeProfile(user=user)
    # ID numbers repeat every 1000 n: each thousand gets its own birth date.
    birth = date(1990, 1, 1) + timedelta(days=n // 1000)
    profile.set_id_number(id_number_for(n, birth=birth.strftime("%Y%m%d")))
    profile.save()
    Membership.objects.create(
        trainee=profile, institution=institution, source=Membership.Source.ADMIN
    )
    return user
