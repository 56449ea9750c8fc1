# ruff: noqa: RUF001 (Russian text: its Cyrillic letters are meant)
"""The team pages, their messages and the admin's labels read Russian for a Russian browser."""

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.template.loader import render_to_string
from django.utils import translation

from dashboard.models import Invitation, Membership, Role

RU = {"HTTP_ACCEPT_LANGUAGE": "ru"}
SETTINGS = "/t/alices-team/settings/"


def page(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_sign_in_page_reads_russian(client, db):
    response = client.get("/accounts/login/", **RU)
    text = page(response)
    assert response.status_code == 200
    assert '<html lang="ru">' in text
    assert "Войти" in text
    assert "Забыли пароль?" in text
    assert "Forgot your password?" not in text


def test_team_settings_read_russian_with_the_members_roles(client, alice, bob, victor):
    client.force_login(alice)
    text = page(client.get(SETTINGS, **RU))
    assert "настройки команды" in text
    assert "Участники" in text
    assert "Пригласить" in text
    for role in ("Владелец", "Участник", "Наблюдатель"):
        assert role in text
    assert "Invite someone" not in text
    # The confirmation a removal asks, in the form's attribute.
    assert "Удалить bob (участник) из команды" in text


def test_a_404_reads_russian(client, alice):
    client.force_login(alice)
    response = client.get("/t/no-such-team/settings/", **RU)
    assert response.status_code == 404
    assert "Страница не найдена" in page(response)


def test_a_team_rule_refusal_reads_russian(client, alice, bob):
    client.force_login(alice)
    response = client.post(
        f"{SETTINGS}invite/", {"email": bob.email, "role": "member"}, follow=True, **RU
    )
    assert f"{bob.email} уже участник команды" in " ".join(messages_of(response))


def test_the_invitation_email_is_in_the_inviting_persons_language(client, alice):
    client.force_login(alice)
    client.post(f"{SETTINGS}invite/", {"email": "dana@example.org", "role": "viewer"}, **RU)
    assert mail.outbox[0].subject.startswith("Присоединяйтесь к команде")
    assert "с ролью «наблюдатель»" in mail.outbox[0].body


def test_an_invitation_problem_reads_russian(client, alice_team, charlie):
    invitation = Invitation.objects.create(team=alice_team, email="d@example.org")
    invitation.revoked_at = invitation.created_at
    invitation.save()
    response = client.get(f"/invite/{invitation.token}/", **RU)
    assert "Это приглашение отозвано" in page(response)


def test_the_reset_email_is_in_the_account_holders_own_language(client, alice):
    from dashboard.languages import remember_language

    remember_language(alice, "ru")
    client.post("/accounts/password_reset/", {"email": alice.email})  # an English browser
    assert mail.outbox[0].subject == "Сброс пароля SMS Desk"
    assert "Задайте новый пароль здесь" in mail.outbox[0].body


def test_the_admin_shows_russian_model_names(client, db):
    operator = User.objects.create_superuser("operator", "operator@example.org", "password")
    client.force_login(operator)
    text = page(client.get("/admin/dashboard/membership/", **RU))
    assert "участие в команде" in text  # "Выберите участие в команде для изменения"
    assert page(client.get("/admin/", **RU)).count("Команды") >= 1


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_error_pages_follow_the_active_language(language):
    with translation.override(language):
        html = render_to_string("500.html")
    assert f'<html lang="{language}">' in html
    assert ("Что-то пошло не так" in html) == (language == "ru")


def test_role_labels_are_russian():
    with translation.override("ru"):
        assert str(Role.MANAGER.label) == "Менеджер"
        assert Membership._meta.get_field("monthly_limit").verbose_name == "месячный лимит"
