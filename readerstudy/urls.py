from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

api_v1 = [
    path("", include("readerstudy.studies.urls")),
    path("", include("readerstudy.imaging.urls")),
    path("", include("readerstudy.predictions.urls")),
    path("", include("readerstudy.analysis.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file and web/api_docs.html its
    # style: no inline script or style, so the docs run under the site's strict CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="web/api_docs.html"),
         name="api-docs"),
    path("", include("readerstudy.imaging.dicomweb_urls")),
    path("", include("readerstudy.analysis.page_urls")),
    path("", include("readerstudy.predictions.page_urls")),
    path("", include("readerstudy.web.urls")),
]

handler400 = "readerstudy.core.errors.bad_request"
handler403 = "readerstudy.core.errors.permission_denied"
handler404 = "readerstudy.core.errors.page_not_found"
handler500 = "readerstudy.core.errors.server_error"
