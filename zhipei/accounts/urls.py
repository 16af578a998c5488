from django.urls import path

from zhipei.accounts import views

app_name = "accounts"
urlpatterns = [
    path("sms/send/", views.sms_send, name="sms_send"),
    path("logout/", views.logout_view, name="logout"),
    path("totp/", views.totp, name="totp"),
    path("password/", views.password_change, name="password_change"),
]
