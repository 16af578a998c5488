from django.apps import AppConfig


class ExamsConfig(AppConfig):
    name = "zhipei.exams"
    verbose_name = "考试"
