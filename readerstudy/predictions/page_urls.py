from django.urls import path

from readerstudy.predictions import views

# Mounted at the site root, next to the coordinator's study and exports pages.
urlpatterns = [
    # A trainee's own progress in a teaching study (a 404 page for anyone else).
    path("progress/<slug:slug>/", views.trainee_progress_page, name="web-progress"),
    path("coordinator/<slug:slug>/model/", views.inference_page, name="web-inference"),
    path("coordinator/<slug:slug>/model/runs/<int:pk>/", views.inference_job_row,
         name="web-inference-job"),
    path("coordinator/<slug:slug>/model/runs/<int:pk>/cancel/", views.inference_job_cancel,
         name="web-inference-cancel"),
    path("coordinator/<slug:slug>/model/runs/<int:pk>/retry/", views.inference_job_retry,
         name="web-inference-retry"),
]
