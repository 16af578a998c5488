from django.apps import AppConfig


class TraineeConfig(AppConfig):
    name = "zhipei.trainee"
    verbose_name = "学员端"
