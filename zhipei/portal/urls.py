from django.urls import path

from zhipei.accounts.views import staff_login
from zhipei.portal import views

app_name = "portal"
urlpatterns = [
    path("login/", staff_login, {"face": "portal"}, name="login"),
    path("", views.home, name="home"),
    path("institutions/", views.institutions, name="institutions"),
    path("institutions/<int:pk>/", views.institution_detail, name="institution_detail"),
    path("alerts/", views.alerts, name="alerts"),
]
