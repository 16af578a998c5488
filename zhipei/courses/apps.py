from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "zhipei.courses"
    verbose_name = "课程"
