from django.apps import AppConfig


class FacesConfig(AppConfig):
    name = "zhipei.faces"
    verbose_name = "人脸核验"
