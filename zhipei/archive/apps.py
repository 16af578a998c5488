from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ArchiveConfig(AppConfig):
    name = "zhipei.archive"
    verbose_name = _("学员档案")
