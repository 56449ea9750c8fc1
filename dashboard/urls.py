from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from dashboard import views

urlpatterns = [
    path("", views.choose_team, name="home"),
    path("t/<slug:team_slug>/", views.team_home, name="team_home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]

if settings.SANDBOX:
    urlpatterns.append(path("sandbox/", include("activations.sandbox_urls")))
