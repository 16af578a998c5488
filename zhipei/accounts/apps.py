from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "zhipei.accounts"
    verbose_name = "账号与实名"
