from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    name = "zhipei.console"
    verbose_name = _("机构管理端")
