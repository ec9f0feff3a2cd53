from django.urls import path

from readerstudy.analysis import views

# Mounted under /api/v1/.
urlpatterns = [
    path("studies/<slug:slug>/exports/", views.ExportListView.as_view(), name="study-exports"),
    path("studies/<slug:slug>/exports/<int:pk>/", views.ExportDetailView.as_view(),
         name="study-export-detail"),
    path("studies/<slug:slug>/exports/<int:pk>/download/", views.ExportDownloadView.as_view(),
         name="study-export-download"),
]
