"""The gateway's addresses: its own, and the family's usual paths, for tools that append them
to a host (included at the top level by dashboard/urls.py)."""

from django.urls import path

from activations.gateway.endpoint import handler_api

urlpatterns = [
    path("api/handler_api", handler_api, name="gateway"),
    path("stubs/handler_api", handler_api, name="gateway_stubs"),
    path("stubs/handler_api.php", handler_api, name="gateway_stubs_php"),
]
