from django.urls import path

from readerstudy.imaging import views

urlpatterns = [
    path("studies/<slug:slug>/import/", views.StudyImportView.as_view(), name="study-import"),
]
