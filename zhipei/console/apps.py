from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "zhipei.console"
    verbose_name = "机构管理端"
