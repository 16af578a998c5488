from django.apps import AppConfig


class StudyConfig(AppConfig):
    name = "zhipei.study"
    verbose_name = "在线学习"
