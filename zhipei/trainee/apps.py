from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TraineeConfig(AppConfig):
    name = "zhipei.trainee"
    verbose_name = _("学员端")
