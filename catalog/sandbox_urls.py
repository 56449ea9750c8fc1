"""Mounted under /sandbox/ by dashboard/urls.py when settings.SANDBOX is on: one handler per
sandbox of settings.SANDBOX_MARKETS."""

from django.urls import path

from catalog import sandbox_views

urlpatterns = [
    path(
        mount.route,
        sandbox_views.handler_api,
        {"mount": mount.mount},
        name=mount.url_name,
    )
    for mount in sandbox_views.sandbox_mounts()
]
