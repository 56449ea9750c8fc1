"""Mounted under /sandbox/ by dashboard/urls.py when settings.SANDBOX is on."""

from django.urls import path

from catalog import sandbox_views

urlpatterns = [
    path("stubs/handler_api", sandbox_views.handler_api, name="sandbox_handler_api"),
]
