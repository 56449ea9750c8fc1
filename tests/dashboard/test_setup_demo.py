"""`manage.py setup_demo`: the demo team and its owner, once; the password is printed once."""

import re
from io import StringIO

from django.contrib.auth import authenticate
from django.core.management import call_command

from dashboard.models import Membership, Role, Team


def run_setup_demo(*args) -> str:
    out = StringIO()
    call_command("setup_demo", *args, stdout=out)
    return out.getvalue()


def test_it_creates_the_demo_team_and_prints_the_password_once(db):
    first = run_setup_demo("--base-url", "http://127.0.0.1:8123/")
    assert "Sign in at http://127.0.0.1:8123/accounts/login/" in first
    password = re.search(r"password: (\S+)", first)[1]
    assert authenticate(username="demo", password=password) is not None
    membership = Membership.objects.get(user__username="demo")
    assert membership.team.slug == "demo"
    assert membership.role == Role.OWNER

    second = run_setup_demo()
    assert password not in second
    assert "password:" not in second
    assert "Sign in at http://127.0.0.1:8000/accounts/login/" in second
    assert Team.objects.filter(slug="demo").count() == 1
    assert Membership.objects.filter(user__username="demo").count() == 1
