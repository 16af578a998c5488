from django.urls import path

from zhipei.accounts.views import staff_login
from zhipei.ops import views

app_name = "ops"
urlpatterns = [
    path("login/", staff_login, {"face": "ops"}, name="login"),
    path("", views.home, name="home"),
    path("institutions/", views.institutions, name="institutions"),
    path("institutions/new/", views.institution_new, name="institution_new"),
    path("institutions/<int:pk>/", views.institution_detail, name="institution_detail"),
    path("accounts/new/", views.account_new, name="account_new"),
    path("security/", views.security, name="security"),
    path("security/accounts/<int:pk>/unlock/", views.account_unlock, name="account_unlock"),
    path(
        "security/accounts/<int:pk>/reset-totp/",
        views.account_totp_reset,
        name="account_totp_reset",
    ),
    path("audit/", views.audit, name="audit"),
    path("audit/verify/", views.audit_verify, name="audit_verify"),
]
