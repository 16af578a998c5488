from django.urls import path

from zhipei.courses import delivery

app_name = "lesson_media"
urlpatterns = [
    path("<str:token>/", delivery.lesson_video, name="video"),
]
