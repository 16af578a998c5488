from django.apps import AppConfig


class CertificatesConfig(AppConfig):
    name = "zhipei.certificates"
    verbose_name = "证书"
