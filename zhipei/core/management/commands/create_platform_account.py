"""Create an operator, security officer or auditor account from the server's shell.

三员分立: these accounts are not created through the web by another platform role. The one-time
password is printed here, to the person with shell access, and must be changed at first login.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from zhipei.accounts.models import PLATFORM_ROLES, User
from zhipei.accounts.services import staff_create


class Command(BaseCommand):
    help = (
        "Create a platform account (operator | security | auditor) and print its one-time password."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=sorted(PLATFORM_ROLES))
        parser.add_argument("--name", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        if User.objects.filter(username__iexact=options["username"]).exists():
            raise CommandError(_("用户名已被使用"))
        account = staff_create(
            username=options["username"], name=options["name"], role=options["role"], by=None
        )
        self.stdout.write(
            _("%(username)s 的初始密码（首次登录须修改）：%(password)s")
            % {"username": account.user.username, "password": account.password}
        )
