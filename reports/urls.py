"""Report URLs, included under t/<slug:team_slug>/reports/ by dashboard/urls.py."""

from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.spending, name="spending"),
    path("usage/", views.usage, name="usage"),
    path("<slug:report>/<slug:table>.csv", views.export_csv, name="csv"),
]
