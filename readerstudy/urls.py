from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

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
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("readerstudy.imaging.dicomweb_urls")),
    path("", include("readerstudy.analysis.page_urls")),
    path("", include("readerstudy.predictions.page_urls")),
    path("", include("readerstudy.web.urls")),
]
