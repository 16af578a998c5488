from django.urls import path

from zhipei.faces import views

app_name = "faces"
urlpatterns = [
    path("challenge/", views.api_challenge, name="challenge"),
    path("enrol/", views.api_enrol, name="enrol"),
    path("verify/", views.api_verify, name="verify"),
]
