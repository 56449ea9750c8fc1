"""Locust users for `make load`: team members with an open activation page, browsing.

Each simulated member is signed in (a session made by scripts/seed_members.py; the file is
named by LOAD_MEMBERS), opens its activation page at a moment of its own, then every 2
seconds does what the open page's htmx does (htmx_poll.py): GET the status section's hx-get
with htmx's headers; a 200 brings the section's next URL, a 204 (nothing changed) keeps it,
a 286 stops the polling. About one poll in LOAD_BROWSE_EVERY it also opens a page: the
catalog (a search, a country, a sort, a later page), the team's activations list, or its
activation page again. Requests carry `X-Forwarded-Proto: https` as the TLS proxy in front
of gunicorn would (production cookies are Secure; the loopback hop is plain HTTP), and the
cookies a browser would have.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from pathlib import Path

import gevent
from htmx_poll import page_headers, poll_headers, poll_path
from locust import FastHttpUser, events, task

MEMBERS = json.loads(Path(os.environ["LOAD_MEMBERS"]).read_text())
BROWSE_EVERY = int(os.environ.get("LOAD_BROWSE_EVERY", "10"))
POLL_SECONDS = float(os.environ.get("LOAD_POLL_SECONDS", "2"))
IN_STEP = os.environ.get("LOAD_IN_STEP") == "1"
SEARCHES = ["tele", "whats", "google", "vk", "mail", "uber", "bank", "x"]
COUNTRIES = [0, 1, 2, 6, 12, 16, 22, 36, 187]
SORTS = ["price", "-price", "-quantity", "quantity"]
PARTIAL = "activation partial"
_members = itertools.count()


@events.init.add_listener
def measure_once_everyone_polls(environment, **_kwargs) -> None:
    """The statistics count from when every member polls: the last ones spawned start up to
    two intervals later (a random wait, the page, the first interval)."""

    def reset_later(**_kwargs) -> None:
        gevent.spawn_later(2 * POLL_SECONDS + 1, environment.stats.reset_all)

    environment.events.spawning_complete.add_listener(reset_later)


class Member(FastHttpUser):
    def on_start(self) -> None:
        # Locust starts its users in batches (--spawn-rate of them at once, once a second);
        # members open their pages at independent moments, so each waits a random part of
        # the interval first. Without it (LOAD_IN_STEP=1) a batch polls in step: every 2 s,
        # 40 requests at the same moment (as after a network outage, when every page retries).
        if not IN_STEP:
            gevent.sleep(random.uniform(0, POLL_SECONDS))
        me = MEMBERS[next(_members) % len(MEMBERS)]
        self.team = me["team"]
        self.cookies = {"sessionid": me["session"]}
        self.page_path = f"/t/{self.team}/activations/{me['activation']}/"
        page = self.open_page(self.page_path, "activation page")
        # The address bar says https: the TLS proxy in front of gunicorn is what it talks to.
        page_url = "https://" + self.host.split("://", 1)[1].rstrip("/") + self.page_path
        self.poll_headers = poll_headers(page_url, page_headers(page))
        self.poll_path = poll_path(page)
        # htmx's `every 2s` fires 2 s after the page loaded, then every 2 s, whatever the
        # answers' delays (its timer is re-armed when it fires).
        self.next_poll = time.monotonic() + POLL_SECONDS
        gevent.sleep(POLL_SECONDS)

    def wait_time(self) -> float:
        self.next_poll += POLL_SECONDS
        return max(0.0, self.next_poll - time.monotonic())

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return {"Cookie": cookie, "X-Forwarded-Proto": "https", **(extra or {})}

    def keep_cookies(self, response) -> None:
        for header in response.headers.getlist("Set-Cookie") if response.headers else ():
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]

    def open_page(self, path: str, name: str) -> str:
        with self.client.get(
            path, headers=self.headers(), name=name, catch_response=True
        ) as response:
            self.keep_cookies(response)
            if response.status_code != 200:
                response.failure(f"{response.status_code}")
            elif "<html" not in response.text:
                response.failure("not a page")
            return response.text or ""

    @task
    def poll_and_browse(self) -> None:
        if self.poll_path:
            self.poll()
        if random.randrange(BROWSE_EVERY) == 0:
            self.browse()

    def poll(self) -> None:
        with self.client.get(
            self.poll_path,
            headers=self.headers(self.poll_headers),
            name=PARTIAL,
            catch_response=True,
        ) as response:
            self.keep_cookies(response)
            if response.status_code == 204:
                if response.content:
                    response.failure("204 with a body")
                return  # nothing changed: htmx swaps nothing and polls the same URL again
            if response.status_code not in (200, 286):
                response.failure(f"{response.status_code}")
            elif "<html" in response.text:
                response.failure("whole page instead of the partial")
            elif response.status_code == 286:
                self.poll_path = None  # the activation closed: htmx stops polling
            else:
                self.poll_path = poll_path(response.text)

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
        elif choice < 0.8:
            self.open_page(f"/t/{team}/activations/", "activations list")
        elif choice < 0.9:
            self.open_page(f"/t/{team}/activations/?state=open", "activations list")
        else:  # a reload of its activation page, which the section then polls
            self.poll_path = poll_path(self.open_page(self.page_path, "activation page"))
