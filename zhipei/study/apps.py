from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StudyConfig(AppConfig):
    name = "zhipei.study"
    verbose_name = _("在线学习")
