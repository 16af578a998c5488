from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FacesConfig(AppConfig):
    name = "zhipei.faces"
    verbose_name = _("人脸核验")
