"""Locust users for `make load`: team members with an open activation page, browsing.

Each simulated member is signed in (a session made by scripts/seed_members.py; the file is
named by LOAD_MEMBERS), opens its activation page once, then every 2 seconds does what the
open page's htmx does: GET the page's status partial (`HX-Request: true`). About one poll in
LOAD_BROWSE_EVERY it also opens a page: the catalog (a search, a country, a sort, a later page)
or the team's activations list. Requests carry `X-Forwarded-Proto: https` as the TLS proxy in
front of gunicorn would (production cookies are Secure; the loopback hop is plain HTTP).
"""

from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path

from locust import FastHttpUser, constant_pacing, task

MEMBERS = json.loads(Path(os.environ["LOAD_MEMBERS"]).read_text())
BROWSE_EVERY = int(os.environ.get("LOAD_BROWSE_EVERY", "10"))
POLL_SECONDS = float(os.environ.get("LOAD_POLL_SECONDS", "2"))
SEARCHES = ["tele", "whats", "google", "vk", "mail", "uber", "bank", "x"]
COUNTRIES = [0, 1, 2, 6, 12, 16, 22, 36, 187]
SORTS = ["price", "-price", "-quantity", "quantity"]
_members = itertools.count()


class Member(FastHttpUser):
    wait_time = constant_pacing(POLL_SECONDS)

    def on_start(self) -> None:
        me = MEMBERS[next(_members) % len(MEMBERS)]
        self.team = me["team"]
        self.page_path = f"/t/{self.team}/activations/{me['activation']}/"
        self.headers = {"Cookie": f"sessionid={me['session']}", "X-Forwarded-Proto": "https"}
        self.partial_headers = {**self.headers, "HX-Request": "true"}
        self.seen = 0
        self.open_page(self.page_path, "activation page")

    def open_page(self, path: str, name: str) -> None:
        with self.client.get(
            path, headers=self.headers, name=name, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")
            elif "<html" not in response.text:
                response.failure("not a page")

    @task
    def poll_and_browse(self) -> None:
        # What the activation page's htmx does every LIVE_REFRESH_SECONDS.
        with self.client.get(
            f"{self.page_path}?seen={self.seen}",
            headers=self.partial_headers,
            name="activation partial",
            catch_response=True,
        ) as response:
            # 286 is htmx's "stop polling" (the activation closed): a valid answer.
            if response.status_code not in (200, 286):
                response.failure(f"{response.status_code}")
            elif "<html" in response.text:
                response.failure("whole page instead of the partial")
        if random.randrange(BROWSE_EVERY) == 0:
            self.browse()

    def browse(self) -> None:
        team = self.team
        choice = random.random()
        if choice < 0.25:
            self.open_page(f"/t/{team}/catalog/?q={random.choice(SEARCHES)}", "catalog")
        elif choice < 0.45:
            country, sort = random.choice(COUNTRIES), random.choice(SORTS)
            self.open_page(f"/t/{team}/catalog/?country={country}&sort={sort}", "catalog")
        elif choice < 0.55:
            self.open_page(f"/t/{team}/catalog/?page={random.randint(2, 50)}", "catalog")
        elif choice < 0.9:
            self.open_page(f"/t/{team}/activations/", "activations list")
        else:
            self.open_page(f"/t/{team}/activations/?state=open", "activations list")
