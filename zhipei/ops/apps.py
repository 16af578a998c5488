from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "zhipei.ops"
    verbose_name = "平台管理端"
