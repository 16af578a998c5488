from django.apps import AppConfig


class InstitutionsConfig(AppConfig):
    name = "zhipei.institutions"
    verbose_name = "培训机构"
