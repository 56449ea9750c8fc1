"""`make run` (through `manage.py setup_demo`) prints the team gateway's URL beside the sign-in."""

from io import StringIO

from django.core.management import call_command


def test_setup_demo_prints_the_gateway_url_and_where_to_get_a_token(db):
    out = StringIO()
    call_command("setup_demo", "--base-url", "http://127.0.0.1:8123/", stdout=out)
    text = out.getvalue()
    assert "Sign in at http://127.0.0.1:8123/accounts/login/" in text
    assert "http://127.0.0.1:8123/stubs/handler_api" in text
    assert "create a token on the API access page: http://127.0.0.1:8123/t/demo/api-access/" in text
