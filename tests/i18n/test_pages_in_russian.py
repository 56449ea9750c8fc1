"""No English left on a Russian page: a visible string nobody marked for translation.

Every GET route of the project (tests/security/routes.py, the security sweep's list and
world: Alice's and Charlie's teams with one of every object) is opened in Russian
(Accept-Language: ru), signed in as Alice (owner, and staff for the admin), and the public
ones signed out too; the Django admin's index and, for each model of ours, its app page,
changelist, change and add pages (Django translates its own words; our verbose names, help
texts and __str__ must be translated too).

On each HTML page the text a person reads is gathered: the text of the page (not <script>,
<style>, <code>, <pre>, <template>, nor an element that says it is not Russian: a `lang`
other than ru, as the language switch's «English», or translate="no"), and the attributes
people read (title, aria-label, placeholder, alt, data-label and data-confirm, the value of
a submit button). From it the data of the world is removed (every username, email, team,
provider, service, country and operator name and code, token name and prefix, phone number,
time zone: read from the database), and URLs and email addresses. What remains must hold no
Latin word ([A-Za-z]{2,}, a run of letters alone: codes like ACCESS_NUMBER, handler_api or
tg2 are not words) but those of ALLOWED.

A failure lists, page by page, each run of English words with ~30 characters either side,
so that the string can be found in the templates or the code and marked, then each English
text once with the number of pages showing it. With I18N_REPORT=path the report is also
written to that file.
"""

import copy
import os
import re
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import reverse

from tests.security.routes import ROUTES

ROOT = Path(__file__).resolve().parents[2]

# Latin words a Russian page may show. Keep it short; each entry says why.
ALLOWED = {
    # Names of things that stay as they are in Russian text.
    "SMS",  # the product's name "SMS Desk" and the SMS itself («SMS-код»)
    "Desk",  # "SMS Desk", the product's name (HELPERS: never translated)
    "API",  # «API-ключ», «API-токен» (glossary)
    "Python",  # the language of a code example's heading
    "curl",  # the command of a code example's heading
    "English",  # the language's name in itself (Your settings' language choices)
    # Formats and protocols, written so in Russian too.
    "CSV",  # «Скачать CSV»
    "JSON",  # the gateway's answers
    "URL",  # «URL шлюза»
    "HTTP",
    "HTTPS",
    "IP",  # «IP-адрес», as Russian writes it
    "ID",  # «ID запроса», «внешний ID»: an identifier, as Russian writes it
    "lang",  # the protocol's parameter, named beside its Russian label: «Язык (lang)»
    "GET",  # HTTP methods: a provider's request method «GET (ключ в запросе)»
    "POST",
    # A service's name, the catalog search's example («например, Telegram или tg»).
    "Telegram",
    # Currency codes (a provider's currency, shown beside amounts).
    "USD",
    "RUB",
    "EUR",
    # Django's own words that Django leaves untranslated.
    "Django",  # the admin's title «Административный сайт Django»
    "True",  # the alt text of the admin's boolean icons
    "False",
    # Time zone abbreviations beside every exact time ("14:03:05 UTC") are added from the
    # zone database by `known_data` (MSK, CET, ...): not listed here.
}
# Attributes Django's own templates write in English without marking them, so no catalog can
# translate them: the magnifier icon of the admin's search box (admin/search_form.html).
DJANGO_UNMARKED = {("img", "alt", "Search")}
# Attributes whose text people read (or hear).
READ_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "data-label", "data-confirm"}
# Elements whose content is not text for people to read in the page's language.
NOT_TEXT = {"script", "style", "code", "pre", "template", "noscript"}
VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
# Tags inside a line of text: their text reads with the text around them (one piece).
INLINE = {
    "a",
    "abbr",
    "b",
    "bdi",
    "bdo",
    "cite",
    "data",
    "dfn",
    "em",
    "i",
    "kbd",
    "label",
    "mark",
    "q",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "time",
    "u",
    "var",
}
WORD = re.compile(r"[A-Za-z0-9_]+")
LETTERS = re.compile(r"[A-Za-z]{2,}")
# A protocol's action name (getBalance, setStatus: the provider's API, never translated).
CAMEL_CASE = re.compile(r"[a-z]+[A-Z][A-Za-z]*")
URL = re.compile(r"https?://\S+|\b[\w.+-]+@[\w-]+(\.[\w-]+)+")
# A generated token or secret (the admin's new invitation offers one): letters mixed with
# digits, "_" or "-", 16 characters or more; random, so it cannot be known data.
TOKEN = re.compile(r"(?=[A-Za-z0-9_-]*[0-9_-])[A-Za-z0-9_-]{16,}")
CONTEXT = 30  # characters each side of a word in a finding


@dataclass(frozen=True)
class Finding:
    words: str  # the English words, as they stand in the text
    context: str  # with ~30 characters each side

    def __str__(self) -> str:
        return f"  {self.words!r} in: {self.context}"


class ReadText(HTMLParser):
    """The pieces of text a person reads on a page: (where, text)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, not text inside)
        self.pieces: list[tuple[str, str]] = []
        self.html_lang = ""
        self.line: list[str] = []  # the text since the last tag that is not INLINE

    def flush(self) -> None:
        text = "".join(self.line)
        if text.strip():
            self.pieces.append(("text", text))
        self.line = []

    @property
    def skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        if tag not in INLINE:
            self.flush()
        attributes = {name: value or "" for name, value in attrs}
        if tag == "html":
            self.html_lang = attributes.get("lang", "")
        lang = attributes.get("lang", "") if tag != "html" else ""
        skip = (
            self.skipping
            or tag in NOT_TEXT
            or (lang and not lang.startswith("ru"))
            or attributes.get("translate") == "no"
        )
        if not skip:
            for name in READ_ATTRIBUTES & attributes.keys():
                if (tag, name, attributes[name]) not in DJANGO_UNMARKED:
                    self.pieces.append((f"<{tag} {name}>", attributes[name]))
            kind = attributes.get("type", "").lower()
            if tag == "input" and kind in ("submit", "button", "reset"):
                self.pieces.append((f"<{tag} value>", attributes.get("value", "")))
        if tag not in VOID:
            self.stack.append((tag, skip))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag not in INLINE:
            self.flush()
        # Pop up to the matching open tag (HTML lets some end tags be left out).
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        if not self.skipping:
            self.line.append(data)

    def close(self):
        super().close()
        self.flush()


def known_data() -> re.Pattern:
    """One pattern matching every piece of data of the world's database that a page may
    show as it is stored: names, codes, emails, phones, time zones and their abbreviations."""
    values: set[str] = {"SMS Desk"}
    fields = {
        User: ["username", "email", "first_name", "last_name"],
        apps.get_model("dashboard", "Team"): ["name", "slug"],
        apps.get_model("dashboard", "Invitation"): ["email", "token"],
        apps.get_model("dashboard", "ApiToken"): ["name", "prefix"],
        apps.get_model("catalog", "Provider"): ["name", "handler_url"],
        apps.get_model("catalog", "Service"): ["name", "code"],
        apps.get_model("catalog", "Country"): ["name"],
        apps.get_model("catalog", "Operator"): ["code"],
        apps.get_model("catalog", "ProviderAccount"): ["key_last4"],
        apps.get_model("activations", "Activation"): ["phone", "provider_activation_id"],
        apps.get_model("activations", "PriceLimit"): ["service_code"],
        apps.get_model("activations", "WorkerHeartbeat"): ["name"],
        # The admin shows an audit event as stored: its action, outcome and parameters.
        apps.get_model("dashboard", "AuditEvent"): ["action", "outcome"],
    }
    for model, names in fields.items():
        for row in model._default_manager.values_list(*names):
            values.update(str(value) for value in row if value)
    for params in apps.get_model("dashboard", "AuditEvent")._default_manager.values_list(
        "params", flat=True
    ):
        values.update(str(key) for key in (params or {}))
    # Other projects' apps in the admin (django_q's "Background tasks"): their own words.
    for config in apps.get_app_configs():
        if config.label not in our_apps() and not config.name.startswith("django."):
            values.add(str(config.verbose_name))
            for model in config.get_models():
                values.add(str(model._meta.verbose_name_plural))
    zones = zoneinfo.available_timezones()
    values.update(zones)
    # Abbreviations of the zones (summer and winter), as `exact` names them.
    for zone in zones:
        for month in (1, 7):
            name = datetime(2026, month, 1, tzinfo=UTC).astimezone(zoneinfo.ZoneInfo(zone))
            values.add(name.tzname() or "")
    values = {value for value in values if LETTERS.search(value)}
    alternatives = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z])(?:{alternatives})(?![A-Za-z])", re.IGNORECASE)


def english_words(html: str, known: re.Pattern) -> tuple[str, list[Finding]]:
    """The page's <html lang> and each Latin word left in what a person reads."""
    parser = ReadText()
    parser.feed(html)
    parser.close()
    allowed = {word.lower() for word in ALLOWED}
    findings: list[Finding] = []
    for _where, raw in parser.pieces:
        text = " ".join(raw.split())
        # Blank out data and addresses, keeping positions for the context.
        cleaned = known.sub(lambda m: " " * len(m[0]), text)
        cleaned = URL.sub(lambda m: " " * len(m[0]), cleaned)
        cleaned = TOKEN.sub(lambda m: " " * len(m[0]), cleaned)
        spans = [
            match.span()
            for match in WORD.finditer(cleaned)
            if LETTERS.fullmatch(match[0])
            and match[0].lower() not in allowed
            and not CAMEL_CASE.fullmatch(match[0])
        ]
        # Words close to each other make one finding: "Forgot your password?", not three.
        runs: list[list[int]] = []
        for start, end in spans:
            if runs and start - runs[-1][1] <= 3:
                runs[-1][1] = end
            else:
                runs.append([start, end])
        for start, end in runs:
            before, after = max(0, start - CONTEXT), end + CONTEXT
            context = (
                ("…" if before else "") + text[before:after] + ("…" if after < len(text) else "")
            )
            findings.append(Finding(text[start:end], context))
    return parser.html_lang, list(dict.fromkeys(findings))


def our_apps() -> set[str]:
    """The labels of this project's apps (not Django's, not installed packages')."""
    return {
        config.label
        for config in apps.get_app_configs()
        if ROOT in Path(config.path).parents
        and not {".venv", "site-packages"} & set(Path(config.path).parts)
    }


def our_admin_urls(world) -> list[str]:
    """The admin's index, and each model of ours: its app's page, changelist, change, add."""
    urls = [reverse("admin:index")]
    ours = our_apps()
    labels = set()
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        if meta.app_label not in ours:
            continue
        labels.add(meta.app_label)
        prefix = f"admin:{meta.app_label}_{meta.model_name}"
        urls.append(reverse(f"{prefix}_changelist"))
        row = model._default_manager.order_by("pk").first()
        if row is not None:
            urls.append(reverse(f"{prefix}_change", args=[row.pk]))
        if model_admin.has_add_permission(_request_of(world.alice)):
            urls.append(reverse(f"{prefix}_add"))
    urls += [reverse("admin:app_list", args=[label]) for label in sorted(labels)]
    return urls


def _request_of(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def pages(world) -> list[tuple[str, str, bool]]:
    """(label, url, signed in) for every page to read."""
    values = world.alice_values()
    found = []
    for route in ROUTES:
        if route.is_admin:
            continue
        url = route.url(values)
        found.append((f"{route.id} {url}", url, True))
        if route.public:
            found.append((f"{route.id} {url} (signed out)", url, False))
    # Pages a bare route does not show: an offer chosen, a search, reports of a week.
    team, offer = "/t/alices-team", world.offer
    chosen = f"service={offer.service.code}&country={offer.country.external_id}"
    found += [
        (f"{name} {url}", url, True)
        for name, url in [
            ("buy, an offer chosen", f"{team}/buy/?{chosen}&operator={offer.operator.code}"),
            ("catalog, a search", f"{team}/catalog/?q={offer.service.code}&in_stock=on"),
            ("spending of a week", f"{team}/reports/?range=7d"),
            ("usage of a week", f"{team}/reports/usage/?range=7d"),
            ("activations, filtered", f"{team}/activations/?state=waiting"),
        ]
    ]
    found += [(f"admin {url}", url, True) for url in our_admin_urls(world)]
    return found


def read_pages(world, chosen=None) -> dict[str, list[Finding]]:
    """What each page (of `chosen` labels, or all) shows in English, by page."""
    world.alice.is_staff = world.alice.is_superuser = True
    world.alice.save()
    signed_in = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="ru")
    signed_in.force_login(world.alice)
    known = known_data()
    found: dict[str, list[Finding]] = defaultdict(list)
    for label, url, as_alice in pages(world):
        if chosen is not None and label not in chosen:
            continue
        browser = signed_in if as_alice else Client(HTTP_ACCEPT_LANGUAGE="ru")
        response = browser.get(url)
        if response.status_code >= 500:
            found[label].append(Finding(f"answered {response.status_code}", ""))
            continue
        if not response.headers.get("Content-Type", "").startswith("text/html"):
            continue
        if getattr(response, "streaming", False) or not response.content.strip():
            continue
        lang, words = english_words(response.content.decode(), known)
        if lang and not lang.startswith("ru"):
            found[label].append(Finding(f'<html lang="{lang}">', "the page is not in Russian"))
        found[label] += words
    return {label: findings for label, findings in found.items() if findings}


def report(found: dict[str, list[Finding]]) -> str:
    lines = []
    for label, findings in found.items():
        lines.append(f"{label}: {len(findings)}")
        lines += [str(finding) for finding in findings]
    strings: dict[str, int] = defaultdict(int)  # each English text, on how many pages
    for findings in found.values():
        for finding in {finding.words for finding in findings}:
            strings[finding] += 1
    total = sum(len(findings) for findings in found.values())
    lines.append(f"Each English text ({len(strings)}), on how many pages:")
    lines += [
        f"  {text!r}: {count}"
        for text, count in sorted(strings.items(), key=lambda item: (-item[1], item[0]))
    ]
    return (
        f"English on {len(found)} Russian page(s), {total} finding(s), {len(strings)} "
        "distinct text(s). Mark each string (templates: {% translate %}; Python: gettext) and "
        "translate it; a name or code that is data belongs in known_data(), a word that "
        "stays Latin in Russian in ALLOWED (tests/i18n/test_pages_in_russian.py).\n"
        + "\n".join(lines)
    )


def test_every_page_reads_russian(world):
    found = read_pages(world)
    if os.environ.get("I18N_REPORT"):  # the whole report in a file, for working through it
        Path(os.environ["I18N_REPORT"]).write_text(report(found) if found else "No English.\n")
    assert not found, report(found)


def test_the_text_read_is_what_people_read():
    html = (
        '<html lang="ru"><head><title>Main page</title><style>.x{}</style></head><body>'
        "<script>let hello = 1;</script><p>Привет, <b>world</b></p><pre>curl -X</pre>"
        '<code>ACCESS_NUMBER</code><input type="hidden" value="secret">'
        '<input type="submit" value="Send"><button aria-label="Close">&times;</button>'
        '<span lang="en">English</span><span translate="no">Brand</span>'
        '<td data-label="Price">1 234,56 $</td><p>API-ключ, STATUS_OK, tg2, SMS Desk, '
        "Alice's Team, alice@example.org, https://example.org/x, 14:03 MSK</p></body></html>"
    )
    lang, findings = english_words(html, known_pattern(["Alice's Team", "MSK"]))
    assert lang == "ru"
    assert [f.words for f in findings] == ["Main page", "world", "Send", "Close", "Price"]
    assert findings[1].context == "Привет, world"


def known_pattern(values):
    alternatives = "|".join(re.escape(v) for v in values)
    return re.compile(rf"(?<![A-Za-z])(?:{alternatives})(?![A-Za-z])", re.IGNORECASE)


def test_the_check_flags_a_deliberately_unmarked_string(world, tmp_path):
    """Your settings with a sentence added in a copy of its template, found first."""
    page = "account_settings /account/"
    before = read_pages(world, {page}).get(page, [])
    original = Path(settings.TEMPLATES[0]["DIRS"][0]) / "dashboard" / "account.html"
    changed = tmp_path / "dashboard" / "account.html"
    changed.parent.mkdir()
    changed.write_text(
        original.read_text().replace(
            "{% block content %}", "{% block content %}<p>Deliberately unmarked words</p>", 1
        )
    )
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [tmp_path, *templates[0]["DIRS"]]
    with override_settings(TEMPLATES=templates):
        after = read_pages(world, {page})[page]
    new = [finding for finding in after if finding not in before]
    assert new == [Finding("Deliberately unmarked words", "Deliberately unmarked words")]
    assert f"{page}: 1\n  'Deliberately unmarked words' in: " in report({page: new})
