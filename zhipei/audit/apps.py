from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "zhipei.audit"
    verbose_name = "审计日志"
