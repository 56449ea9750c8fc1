"""A person's own settings: their time zone (empty: each team's own), and the way to their
password."""

from dashboard.models import Profile

URL = "/account/"


def test_the_user_box_links_to_ones_own_settings(client, alice, alice_team):
    client.force_login(alice)
    page = client.get(f"/t/{alice_team.slug}/").content.decode()
    assert f'href="{URL}">Your settings</a>' in page
    settings_page = client.get(URL).content.decode()
    assert 'href="/accounts/password_change/"' in settings_page
    assert "Each team&#x27;s own time zone" in settings_page


def test_it_saves_ones_own_time_zone_and_times_follow_it(client, alice, alice_team):
    client.force_login(alice)
    response = client.post(URL, {"time_zone": "Europe/Moscow"}, follow=True)
    assert "Your settings were saved." in response.content.decode()
    assert Profile.objects.get(user=alice).time_zone == "Europe/Moscow"
    assert " MSK" in response.content.decode()  # "It is now 1 Dec 2026, 14:03:05 MSK"

    client.post(URL, {"time_zone": ""})
    assert Profile.objects.get(user=alice).time_zone == ""


def test_it_refuses_an_unknown_time_zone(client, alice):
    Profile.objects.create(user=alice, time_zone="Asia/Tokyo")
    client.force_login(alice)
    response = client.post(URL, {"time_zone": "Mars/Olympus"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert Profile.objects.get(user=alice).time_zone == "Asia/Tokyo"


def test_it_needs_signing_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
