from django.urls import path

from activations import home, views
from activations.gateway import views as gateway_views

app_name = "activations"

T = "t/<slug:team_slug>/"

urlpatterns = [
    path(T, home.team_home, name="home"),
    path(T + "activations/", views.activation_list, name="list"),
    path(T + "activations/open/", views.open_table, name="open"),
    path(T + "activations/<int:activation_id>/", views.activation_detail, name="detail"),
    path(T + "activations/<int:activation_id>/retry/", views.retry, name="retry"),
    path(T + "activations/<int:activation_id>/complete/", views.complete, name="complete"),
    path(T + "activations/<int:activation_id>/cancel/", views.cancel, name="cancel"),
    path(T + "buy/", views.buy, name="buy"),
    path(T + "buy/usual/", views.buy_usual, name="buy_usual"),
    path(T + "provider-accounts/", views.provider_accounts, name="accounts"),
    path(
        T + "provider-accounts/<int:account_id>/remove/",
        views.remove_account,
        name="remove_account",
    ),
    path(
        T + "provider-accounts/<int:account_id>/refresh/",
        views.refresh_balance,
        name="refresh_balance",
    ),
    path(T + "budgets/", views.budgets, name="budgets"),
    path(T + "routing/", views.team_routing, name="routing"),
    path(T + "routing/limits/", views.save_price_limit, name="save_price_limit"),
    path(T + "routing/limits/remove/", views.remove_price_limit, name="remove_price_limit"),
    path(T + "audit/", views.audit_log, name="audit"),
    path(T + "api-access/", gateway_views.api_access, name="api_access"),
    path(
        T + "api-access/<int:token_id>/revoke/",
        gateway_views.revoke_token,
        name="revoke_token",
    ),
]
