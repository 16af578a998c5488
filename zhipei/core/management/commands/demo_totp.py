"""Print the current TOTP code of a demo staff account, for trying the demo without a phone app."""

from typing import Any

import pyotp
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from zhipei.accounts.models import User


class Command(BaseCommand):
    help = "Print the current dynamic code of a staff account (development and demo only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo_totp is disabled in production")
        user = User.objects.filter(username=options["username"]).first()
        if user is None or not user.totp_secret:
            raise CommandError(_("没有这个工作人员账号，或尚未绑定动态口令"))
        self.stdout.write(pyotp.TOTP(user.totp_secret).now())
