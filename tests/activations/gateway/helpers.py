"""Asking the gateway through Django's test client."""

from tests.activations.gateway.conftest import GATEWAY_PATH


def ask(client, secret, method="get", path=GATEWAY_PATH, **params):
    """The gateway's response to one request (GET by default), params as given."""
    data = {"api_key": secret, **params} if secret is not None else params
    return getattr(client, method)(path, data)


def said(client, secret, **params) -> str:
    """The text of a GET answer, after checking it is the gateway's plain text."""
    response = ask(client, secret, **params)
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.status_code == 200, response.content
    return response.content.decode()
