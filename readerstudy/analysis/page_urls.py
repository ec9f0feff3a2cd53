from django.urls import path

from readerstudy.analysis import views

# Mounted at the site root, next to the reading room's coordinator page.
urlpatterns = [
    path("coordinator/<slug:slug>/exports/", views.exports_page, name="web-exports"),
    path("coordinator/<slug:slug>/exports/<int:pk>/", views.export_fragment, name="web-export"),
]
