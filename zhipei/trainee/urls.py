from django.urls import path

from zhipei.trainee import views

app_name = "trainee"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("register/", views.register, name="register"),
    path("profile/", views.profile, name="profile"),
    path("consents/", views.consents, name="consents"),
    path("consents/<str:kind>/<str:action>/", views.consent_decide, name="consent_decide"),
]
