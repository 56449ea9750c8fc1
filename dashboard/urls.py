from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard import views
from dashboard.forms import LocalizedPasswordResetForm

urlpatterns = [
    path("", views.choose_team, name="home"),
    path("t/<slug:team_slug>/settings/", views.team_settings, name="team_settings"),
    path("t/<slug:team_slug>/settings/team/", views.update_team, name="update_team"),
    path("t/<slug:team_slug>/settings/invite/", views.invite_member, name="invite_member"),
    path(
        "t/<slug:team_slug>/settings/invitations/<int:invitation_id>/revoke/",
        views.revoke_invitation,
        name="revoke_invitation",
    ),
    path(
        "t/<slug:team_slug>/settings/members/<int:membership_id>/role/",
        views.change_role,
        name="change_role",
    ),
    path(
        "t/<slug:team_slug>/settings/members/<int:membership_id>/remove/",
        views.remove_member,
        name="remove_member",
    ),
    path("t/<slug:team_slug>/settings/leave/", views.leave_team, name="leave_team"),
    path("account/", views.account_settings, name="account_settings"),
    path("language/", views.choose_language, name="choose_language"),
    path("t/<slug:team_slug>/reports/", include("reports.urls")),
    path("", include("catalog.urls")),
    path("", include("activations.urls")),
    path("invite/<str:token>/", views.accept_invitation, name="accept_invitation"),
    # Our sign-in view (rate limited) comes before Django's other auth views.
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    # The reset email in the account holder's language (LocalizedPasswordResetForm).
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=LocalizedPasswordResetForm),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico whatever the page links to.
    path("favicon.ico", views.favicon, name="favicon"),
    # The team gateway: /api/handler_api and the family's /stubs/handler_api(.php).
    path("", include("activations.gateway.urls")),
]

if settings.SANDBOX:
    urlpatterns.append(path("sandbox/", include("catalog.sandbox_urls")))
