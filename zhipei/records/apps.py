from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecordsConfig(AppConfig):
    name = "zhipei.records"
    verbose_name = _("学习记录导出")
