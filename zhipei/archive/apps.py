from django.apps import AppConfig


class ArchiveConfig(AppConfig):
    name = "zhipei.archive"
    verbose_name = "学员档案"
