from django.urls import include, path

from zhipei.certificates.urls import console_patterns, trainee_patterns, verify_patterns
from zhipei.core.views import health, live

urlpatterns = [
    path("healthz", health, name="health"),
    path("livez", live, name="live"),
    path("accounts/", include("zhipei.accounts.urls")),
    path("api/face/", include("zhipei.faces.urls")),
    path("study/", include("zhipei.study.urls")),
    path("exams/", include("zhipei.exams.urls")),
    path("console/certificates/", include(console_patterns)),
    path("console/", include("zhipei.console.urls")),
    path("portal/", include("zhipei.portal.urls")),
    path("ops/", include("zhipei.ops.urls")),
    path("media/lesson/", include("zhipei.courses.urls")),
    path("verify/", include(verify_patterns)),
    path("certificates/", include(trainee_patterns)),
    path("", include("zhipei.trainee.urls")),
]
