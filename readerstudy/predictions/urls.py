from django.urls import path

from readerstudy.predictions import views

urlpatterns = [
    path("studies/<slug:slug>/inference/", views.InferenceView.as_view(), name="study-inference"),
    path("studies/<slug:slug>/inference/<int:pk>/cancel/",
         views.InferenceCancelView.as_view(), name="study-inference-cancel"),
    path("studies/<slug:slug>/inference/<int:pk>/retry/",
         views.InferenceRetryView.as_view(), name="study-inference-retry"),
    path("studies/<slug:slug>/predictions/", views.PredictionsView.as_view(), name="study-predictions"),
    # Not "reading-...": this route does carry model output, for trainees after their read.
    path("feedback/<slug:slug>/<str:code>/", views.FeedbackView.as_view(), name="trainee-feedback"),
]
