"""Members using the pages through the web, as the production scripts load the stack: each
polls its activation's status partial, opens the activations list now and then, and buys
through the buy page; every answer is counted by page and status, every refusal by reason.

Used by `faults_under_load.py` and `hostile_provider_check.py`; `control` speaks to the
sandbox provider's control port (scripts/sandbox_control.py).
"""

from __future__ import annotations

import collections
import html
import random
import re
import threading
import time
from urllib.parse import urljoin, urlsplit

import browse
import httpx

OK_STATUSES = (200, 286, 302)


class Load:
    """Members using the site in threads; every answer recorded with its time and phase."""

    def __init__(self, web_url: str, members: list[dict], buy_query: str, buy_every: float):
        self.web_url = web_url
        self.members = members
        self.buy_query = buy_query
        self.buy_every = buy_every
        self.stop = threading.Event()
        self.phase = "warm-up"
        self.lock = threading.Lock()
        # (time, phase, kind, status)
        self.answers: list[tuple[float, str, str, int]] = []
        self.bought: list[int] = []  # activation ids the pages said were bought
        self.refused: collections.Counter[str] = collections.Counter()
        self.errors: collections.Counter[str] = collections.Counter()
        self.threads = [
            threading.Thread(target=self.member, args=(m,), daemon=True) for m in members
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def record(self, kind: str, status: int) -> None:
        with self.lock:
            self.answers.append((time.time(), self.phase, kind, status))

    def member(self, me: dict) -> None:
        session = browse.Session(self.web_url, timeout=15)
        session.cookies["sessionid"] = me["session"]
        team = me["team"]
        current = me["activation"]
        next_buy = time.monotonic() + random.uniform(3, self.buy_every)
        n = 0
        while not self.stop.is_set():
            n += 1
            self.get(session, f"/t/{team}/activations/{current}/?seen=0", "partial", htmx=True)
            if n % 8 == 0:
                self.get(session, f"/t/{team}/activations/", "list")
            if time.monotonic() >= next_buy:
                next_buy = time.monotonic() + self.buy_every * random.uniform(0.8, 1.2)
                bought = self.buy(session, team)
                if bought:
                    current = bought
            self.stop.wait(2.0)
        session.close()

    def get(self, session: browse.Session, path: str, kind: str, htmx: bool = False) -> None:
        headers = {"HX-Request": "true"} if htmx else {}
        try:
            try:
                response = session.get(path, headers=headers)
            except (httpx.RemoteProtocolError, httpx.ReadError):
                # The server closed an idle keep-alive connection as we reused it (gunicorn
                # keeps one 2 s, our polls come every 2 s); browsers send an idempotent
                # request again on a new connection, and so do we.
                with self.lock:
                    self.errors["keep-alive closed, sent again"] += 1
                response = session.get(path, headers=headers)
            self.record(kind, response.status_code)
        except httpx.HTTPError as error:
            with self.lock:
                self.errors[type(error).__name__] += 1
            self.record(kind, 0)  # no answer (timeout, refused)

    def buy(self, session: browse.Session, team: str) -> int | None:
        """One purchase through the buy page; the activation id if the page says bought."""
        try:
            page = session.get(f"/t/{team}/buy/?{self.buy_query}")
            self.record("buy form", page.status_code)  # 503 while the database restarts
            if page.status_code != 200:
                return None
            form = next((f for f in browse.forms_of(page.text) if "service" in f.selects), None)
            if form is None:
                self.record("buy", 0)
                return None
            response = session.post(urlsplit(urljoin(str(page.url), form.action)).path, form.data())
        except httpx.HTTPError:
            self.record("buy", 0)
            return None
        self.record("buy", response.status_code)
        found = re.search(r"/activations/(\d+)/$", response.headers.get("location", ""))
        if response.status_code == 302 and found:
            with self.lock:
                self.bought.append(int(found.group(1)))
            return int(found.group(1))
        if response.status_code == 302:
            try:
                page = session.follow(response)
                found = re.findall(r'class="message[^"]*"[^>]*>(.*?)<', page.text)
                message = html.unescape(" ".join(found))
            except httpx.HTTPError:
                message = "?"
            with self.lock:
                self.refused[classify_refusal(message)] += 1
        return None


def classify_refusal(message: str) -> str:
    text = message.lower()
    if "budget" in text:
        return "team budget"
    if "limit" in text:
        return "member limit"
    if "not answering" in text or "unavailable" in text or "try again" in text:
        return "provider not answering"
    return "other: " + message[:60]


def control(url: str, what: str, body: dict | None = None):
    if body is None and what in ("clear",):
        return httpx.post(url + what, timeout=10).json()
    if body is not None:
        return httpx.post(url + what, json=body, timeout=10).json()
    return httpx.get(url + what, timeout=30).json()
