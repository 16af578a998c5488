from django.urls import path

from zhipei.faces import views as face_views
from zhipei.trainee import views

app_name = "trainee"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("register/", views.register, name="register"),
    path("profile/", views.profile, name="profile"),
    path("consents/", views.consents, name="consents"),
    path("face/", face_views.face_home, name="face"),
    path("face/enrol/", face_views.face_enrol, name="face_enrol"),
    path("face/verify/", face_views.face_verify, name="face_verify"),
    path("consents/<str:kind>/<str:action>/", views.consent_decide, name="consent_decide"),
]
