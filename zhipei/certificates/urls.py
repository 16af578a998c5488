"""Three URL groups, mounted by zhipei/urls.py: the public verification page (/verify/), the
trainee's certificates (/certificates/) and the console's (/console/certificates/)."""

from django.urls import path

from zhipei.certificates import views

verify_patterns = (
    [
        path("", views.verify_lookup, name="lookup"),
        path("<str:serial>/", views.verify_detail, name="detail"),
    ],
    "verify",
)

trainee_patterns = (
    [
        path("", views.my_certificates, name="mine"),
        path("<int:pk>/pdf/", views.my_certificate_pdf, name="download"),
    ],
    "certificates",
)

console_patterns = (
    [
        path("", views.console_list, name="list"),
        path("classes/<int:pk>/", views.console_for_class, name="for_class"),
        path("classes/<int:pk>/issue/", views.console_issue, name="issue"),
        path("classes/<int:pk>/issue-all/", views.console_issue_bulk, name="issue_bulk"),
        path("<int:pk>/", views.console_detail, name="detail"),
        path("<int:pk>/pdf/", views.console_download, name="download"),
        path("<int:pk>/revoke/", views.console_revoke, name="revoke"),
    ],
    "certificates_console",
)
