from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    name = "zhipei.ops"
    verbose_name = _("平台管理端")
