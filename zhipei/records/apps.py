from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "zhipei.records"
    verbose_name = "学习记录导出"
