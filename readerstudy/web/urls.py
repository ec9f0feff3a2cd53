from django.urls import path

from readerstudy.web import coordinator_views as coordinator
from readerstudy.web import lockout_views, views

# No app namespace: settings.LOGIN_URL names "login".
urlpatterns = [
    path("", views.worklist, name="web-worklist"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("read/<slug:slug>/<str:code>/", views.read_case, name="web-read"),
    # The coordinator's pages (a study slug is one path segment; these names have two or a dot).
    path("coordinator/", coordinator.home, name="web-coordinator-home"),
    path("coordinator/studies/new/", coordinator.study_create, name="web-study-create"),
    path("coordinator/manifest-example.csv", coordinator.manifest_example, name="web-manifest-example"),
    path("coordinator/lockouts/", lockout_views.lockouts, name="web-lockouts"),
    path("coordinator/lockouts/unlock/", lockout_views.lockout_unlock, name="web-lockout-unlock"),
    path("coordinator/<slug:slug>/", coordinator.coordinator, name="web-coordinator"),
    path("coordinator/<slug:slug>/settings/", coordinator.study_settings, name="web-study-settings"),
    path("coordinator/<slug:slug>/cases/", coordinator.study_cases, name="web-study-cases"),
    path("coordinator/<slug:slug>/readers/", coordinator.study_readers, name="web-study-readers"),
    path("coordinator/<slug:slug>/readers/new/", coordinator.reader_create_view, name="web-reader-create"),
    path("coordinator/<slug:slug>/readers/<str:username>/remove/", coordinator.reader_remove,
         name="web-reader-remove"),
    path("coordinator/<slug:slug>/open/", coordinator.study_open, name="web-study-open"),
    path("coordinator/<slug:slug>/close/", coordinator.study_close, name="web-study-close"),
    path("coordinator/<slug:slug>/schedule.csv", coordinator.schedule_csv, name="web-schedule-csv"),
]
