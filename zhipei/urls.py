from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.decorators.http import etag
from django.views.i18n import JavaScriptCatalog

from zhipei.certificates.urls import console_patterns, trainee_patterns, verify_patterns
from zhipei.core.views import catalog_etag, health, live

# The scripts' translations (gettext() in the browser), served by the platform itself: no CDN.
# One request per language and release, then the browser's cache.
javascript_catalog = cache_control(public=True, max_age=86400)(
    etag(catalog_etag)(JavaScriptCatalog.as_view())
)
# Every page loads it, the forced password change included: never redirected by the session
# guard (a redirect instead of the script would leave the page's scripts without gettext).
javascript_catalog.skips_session_guard = True  # type: ignore[attr-defined]

urlpatterns = [
    path("healthz", health, name="health"),
    path("livez", live, name="live"),
    path("jsi18n/", javascript_catalog, name="javascript_catalog"),
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
