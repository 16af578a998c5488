from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "zhipei.portal"
    verbose_name = "监管端"
