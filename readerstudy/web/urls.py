from django.urls import path

from readerstudy.web import views

# No app namespace: settings.LOGIN_URL names "login".
urlpatterns = [
    path("", views.worklist, name="web-worklist"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("read/<slug:slug>/<str:code>/", views.read_case, name="web-read"),
    path("coordinator/<slug:slug>/", views.coordinator, name="web-coordinator"),
]
