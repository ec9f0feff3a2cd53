from django.urls import include, path
from rest_framework.routers import SimpleRouter

from readerstudy.studies.api import coordinator, reader

router = SimpleRouter()
router.register("studies", coordinator.StudyViewSet, basename="study")
router.register("readers", coordinator.ReaderViewSet, basename="reader")

study_children = SimpleRouter()
study_children.register("cases", coordinator.CaseViewSet, basename="study-case")
study_children.register("assignments", coordinator.AssignmentViewSet, basename="study-assignment")

urlpatterns = [
    path("me/", reader.MeView.as_view(), name="me"),
    path("reading/", reader.ReadingStudiesView.as_view(), name="reading-studies"),
    path("reading/<slug:slug>/worklist/", reader.WorklistView.as_view(), name="reading-worklist"),
    path("reading/<slug:slug>/cases/<str:code>/", reader.CaseOpenView.as_view(), name="reading-case"),
    path("reading/<slug:slug>/reads/", reader.ReadsView.as_view(), name="reading-reads"),
    path("studies/<slug:study_slug>/", include(study_children.urls)),
    *router.urls,
]
