from django.urls import include, path

from zhipei.core.views import health, live

urlpatterns = [
    path("healthz", health, name="health"),
    path("livez", live, name="live"),
    path("accounts/", include("zhipei.accounts.urls")),
    path("api/face/", include("zhipei.faces.urls")),
    path("study/", include("zhipei.study.urls")),
    path("console/", include("zhipei.console.urls")),
    path("portal/", include("zhipei.portal.urls")),
    path("ops/", include("zhipei.ops.urls")),
    path("media/lesson/", include("zhipei.courses.urls")),
    path("", include("zhipei.trainee.urls")),
]
