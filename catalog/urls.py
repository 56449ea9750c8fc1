from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("t/<slug:team_slug>/catalog/", views.browse, name="browse"),
    path(
        "t/<slug:team_slug>/catalog/services/<int:service_id>/",
        views.service_detail,
        name="service",
    ),
    path("t/<slug:team_slug>/catalog/sync/", views.sync_now, name="sync"),
    path(
        "t/<slug:team_slug>/catalog/sync/<int:provider_id>/",
        views.sync_status,
        name="sync_status",
    ),
]
