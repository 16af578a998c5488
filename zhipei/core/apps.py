from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "zhipei.core"
    verbose_name = "基础"
