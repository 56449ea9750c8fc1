"""The audit log in words: one sentence per row, with links to what it names.

"alice bought +7 912 345-67-89 (Telegram, Russia) at Sandbox for $12.30", "bob cancelled
+7 912 345-67-89", "alice replaced the key of Sandbox", "the poller received a code for ...".
One telling function per action (`@tells`); the objects the sentences name are read in bulk,
one query per kind of object for a whole page (`Targets`), never one per row. Amounts carry
their currency: a provider's prices and balances its own (`Provider.currency`), budgets and
highest prices the team's. The sentence names what happened; the row's outcome, time, source
and address, and the provider calls under it, are the template's.

This module lives in activations, the lowest layer from which every object the log names
(activations, offers, accounts, tokens) can be imported.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Model
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from activations.models import Activation, RoutingPolicy
from catalog.models import Offer, Provider, ProviderAccount
from dashboard.audit import Action, action_label
from dashboard.display import money
from dashboard.models import ApiToken, AuditEvent, Role, Team

# What each kind of object named by events is read with: one query per kind for a page.
LOADERS: dict[str, Callable[[Team, set[str]], list[Model]]] = {
    "activations.activation": lambda team, ids: Activation.objects.filter(
        team=team, pk__in=ids
    ).select_related("service", "country", "provider"),
    "catalog.offer": lambda team, ids: Offer.objects.filter(pk__in=ids).select_related(
        "service", "country", "provider"
    ),
    "catalog.provideraccount": lambda team, ids: ProviderAccount.objects.filter(
        team=team, pk__in=ids
    ).select_related("provider"),
    "catalog.provider": lambda team, ids: Provider.objects.filter(pk__in=ids),
    "dashboard.apitoken": lambda team, ids: ApiToken.objects.filter(team=team, pk__in=ids),
}

# Outcomes in words ("over the budget"); any other outcome is shown as the provider sent it.
OUTCOME_WORDS = {
    "over_budget": "over the budget",
    "NO_NUMBERS": "no numbers available",
    "NO_BALANCE": "not enough money at the provider",
    "BAD_KEY": "the key was refused",
    "BAD_STATUS": "the provider refused",
    "NO_ACTIVATION": "the provider no longer knows it",
    "unavailable": "the provider did not answer",
    "rate_limited": "the provider asked to slow down",
    "protocol_error": "the provider's answer could not be read",
    "key_unreadable": "the stored key could not be read",
    "not_recorded": "the number could not be recorded",
    "not_recorded_cancelled": "the number could not be recorded and was cancelled",
    "unstorable": "an answer SMS Desk cannot store",
}


def outcome_words(outcome: str) -> str:
    return OUTCOME_WORDS.get(outcome, outcome)


def phone_text(phone: str) -> str:
    """ "+7 912 345-67-89" for a Russian number, "+<digits>" for the others."""
    if len(phone) == 11 and phone.isdigit() and phone[0] == "7":
        return f"+7 {phone[1:4]} {phone[4:7]}-{phone[7:9]}-{phone[9:]}"
    return f"+{phone}"


class Targets:
    """The objects a page of events names, read in bulk: one query per kind of object."""

    def __init__(self, team: Team, events: list[AuditEvent]) -> None:
        wanted: dict[str, set[str]] = defaultdict(set)
        for event in events:
            if event.object_type in LOADERS and event.object_id:
                wanted[event.object_type].add(event.object_id)
        self.found: dict[tuple[str, str], Model] = {}
        for object_type, ids in wanted.items():
            numeric = {pk for pk in ids if pk.isdigit()}
            if numeric:
                for obj in LOADERS[object_type](team, numeric):
                    self.found[object_type, str(obj.pk)] = obj

    def of(self, event: AuditEvent) -> Model | None:
        return self.found.get((event.object_type, event.object_id))


@dataclass
class Told:
    """What a telling function gets: the event, its target (None when gone) and the team."""

    event: AuditEvent
    target: Model | None
    team: Team

    @property
    def params(self) -> dict:
        return self.event.params if isinstance(self.event.params, dict) else {}

    @property
    def ok(self) -> bool:
        return self.event.outcome == "ok"

    @property
    def who(self) -> str:
        if self.event.user is not None:
            return self.event.user.get_username()
        if self.event.action in {Action.EXPIRED, Action.COMPLETED_AT_EXPIRY}:
            return "the poller"
        if self.event.kind == AuditEvent.Kind.CALL:
            return "the poller" if isinstance(self.target, Activation) else "the catalog sync"
        return "a former member"

    def url(self, name: str, *args) -> str:
        return reverse(name, args=[self.team.slug, *args])

    @property
    def provider(self) -> Provider | None:
        target = self.target
        if isinstance(target, Provider):
            return target
        return getattr(target, "provider", None)

    @property
    def provider_name(self) -> str:
        provider = self.provider
        return provider.name if provider is not None else str(self.params.get("provider", ""))

    def price(self, amount) -> str:
        provider = self.provider
        return money(amount, provider.currency if provider is not None else self.team.currency)

    def team_money(self, amount) -> str:
        return "no limit" if amount is None else money(amount, self.team.currency)

    def number(self) -> SafeString:
        """The activation's number, linked to its page (plain text once it is gone)."""
        if isinstance(self.target, Activation):
            return format_html(
                '<a href="{}">{}</a>',
                self.url("activations:detail", self.target.pk),
                phone_text(self.target.phone),
            )
        phone = self.params.get("phone")
        return format_html("{}", phone_text(str(phone)) if phone else "a number")

    def accounts_link(self) -> SafeString:
        return format_html(
            '<a href="{}">{}</a>',
            self.url("activations:accounts"),
            self.provider_name or "a provider",
        )


Teller = Callable[[Told], SafeString]
TELLERS: dict[str, Teller] = {}


def tells(*actions: str) -> Callable[[Teller], Teller]:
    def register(teller: Teller) -> Teller:
        for action in actions:
            TELLERS[action] = teller
        return teller

    return register


def tell(event: AuditEvent, targets: Targets, team: Team) -> SafeString:
    """The event's sentence (with links), by its action's telling function."""
    told = Told(event, targets.of(event), team)
    teller = TELLERS.get(event.action, _generic)
    return teller(told)


def tell_page(team: Team, page_heads: list[AuditEvent]) -> None:
    """Set `story` on each event of a page: its sentence, targets read in bulk."""
    targets = Targets(team, page_heads)
    for event in page_heads:
        event.story = tell(event, targets, team)


def _generic(told: Told) -> SafeString:
    return format_html("{}: {}", told.who, action_label(told.event.action).lower())


# --- People's actions on numbers ---------------------------------------------------------


@tells(Action.BOUGHT)
def _bought(told: Told) -> SafeString:
    target, price = told.target, told.price(told.params.get("price"))
    if isinstance(target, Activation):
        return format_html(
            "{} bought {} ({}, {}) at {} for {}",
            told.who,
            told.number(),
            target.service.shown_name,
            target.country.shown_name,
            told.provider_name,
            price,
        )
    if isinstance(target, Offer):
        return format_html(
            "{} tried to buy a {} number in {} at {} for {}: {}",
            told.who,
            target.service.shown_name,
            target.country.shown_name,
            told.provider_name,
            price,
            outcome_words(told.event.outcome),
        )
    return format_html(
        "{} tried to buy a number for {}: {}", told.who, price, outcome_words(told.event.outcome)
    )


MOVES = {
    Action.RETRY_REQUESTED: ("asked for another SMS on", "to ask for another SMS on"),
    Action.COMPLETED: ("completed", "to complete"),
    Action.CANCELLED: ("cancelled", "to cancel"),
}


@tells(*MOVES)
def _moved(told: Told) -> SafeString:
    done, tried = MOVES[told.event.action]
    if told.ok:
        return format_html("{} {} {}", told.who, done, told.number())
    return format_html(
        "{} tried {} {}: {}", told.who, tried, told.number(), outcome_words(told.event.outcome)
    )


@tells(Action.EXPIRED, Action.COMPLETED_AT_EXPIRY)
def _expired(told: Told) -> SafeString:
    if told.event.action == Action.EXPIRED:
        return format_html("{} expired with no code; it costs nothing", told.number())
    return format_html("{} ran out of time after its code and was completed", told.number())


# --- Keys and balances -------------------------------------------------------------------


@tells(Action.KEY_ADDED, Action.KEY_REPLACED, Action.KEY_REMOVED)
def _key(told: Told) -> SafeString:
    verb = {
        Action.KEY_ADDED: "added a key for",
        Action.KEY_REPLACED: "replaced the key of",
        Action.KEY_REMOVED: "removed the key of",
    }[told.event.action]
    masked = told.params.get("masked_key")
    if masked:
        return format_html("{} {} {} (key {})", told.who, verb, told.accounts_link(), masked)
    return format_html("{} {} {}", told.who, verb, told.accounts_link())


@tells(Action.BALANCE_REFRESHED)
def _balance(told: Told) -> SafeString:
    before, after = told.params.get("before"), told.params.get("after")
    if before is None:
        return format_html(
            "{} checked the balance at {}: {}", told.who, told.accounts_link(), told.price(after)
        )
    return format_html(
        "{} refreshed the balance at {}: {} → {}",
        told.who,
        told.accounts_link(),
        told.price(before),
        told.price(after),
    )


# --- Budgets, routing, tokens ------------------------------------------------------------


@tells(Action.BUDGET_CHANGED)
def _budget(told: Told) -> SafeString:
    target = told.params.get("target")
    whose = "the team's monthly budget" if target == "team" else f"{target}'s monthly limit"
    return format_html(
        '{} changed <a href="{}">{}</a>: {} → {}',
        told.who,
        told.url("activations:budgets"),
        whose,
        told.team_money(told.params.get("before")),
        told.team_money(told.params.get("after")),
    )


@tells(Action.ROUTING_CHANGED)
def _routing(told: Told) -> SafeString:
    target, before, after = (told.params.get(k) for k in ("target", "before", "after"))
    link = told.url("activations:routing")
    if target == "policy":
        policies = dict(RoutingPolicy.choices)
        return format_html(
            '{} changed the <a href="{}">routing policy</a>: {} → {}',
            told.who,
            link,
            policies.get(before, before or "none"),
            policies.get(after, after),
        )
    return format_html(
        '{} changed the <a href="{}">highest price</a> for {}: {} → {}',
        told.who,
        link,
        target,
        told.team_money(before),
        told.team_money(after),
    )


@tells(Action.TOKEN_CREATED, Action.TOKEN_REVOKED)
def _token(told: Told) -> SafeString:
    verb = "created" if told.event.action == Action.TOKEN_CREATED else "revoked"
    owner = told.params.get("owner")
    of = f" of {owner}" if owner and owner != told.who else ""
    return format_html(
        '{} {} API token <a href="{}">“{}”</a>{}',
        told.who,
        verb,
        told.url("activations:api_access"),
        told.params.get("name", ""),
        of,
    )


# --- The team and its members ------------------------------------------------------------


def _role(value) -> str:
    return str(dict(Role.choices).get(value, value or "")).lower()


def _settings_link(told: Told, text: str) -> SafeString:
    return format_html('<a href="{}">{}</a>', reverse("team_settings", args=[told.team.slug]), text)


@tells(Action.TEAM_UPDATED)
def _team(told: Told) -> SafeString:
    changes = ", ".join(
        f"{name.replace('_', ' ')} → {value}" for name, value in told.params.items()
    )
    return format_html("{} updated {}: {}", told.who, _settings_link(told, "the team"), changes)


@tells(Action.MEMBER_INVITED, Action.INVITATION_REVOKED)
def _invitation(told: Told) -> SafeString:
    email = told.params.get("email", "")
    if told.event.action == Action.MEMBER_INVITED:
        return format_html(
            "{} invited {} as {}",
            told.who,
            _settings_link(told, email),
            _role(told.params.get("role")),
        )
    return format_html("{} revoked the invitation of {}", told.who, _settings_link(told, email))


@tells(Action.MEMBER_JOINED, Action.MEMBER_LEFT)
def _joined_or_left(told: Told) -> SafeString:
    if told.event.action == Action.MEMBER_JOINED:
        return format_html(
            "{} joined {} as {}",
            told.who,
            _settings_link(told, "the team"),
            _role(told.params.get("role")),
        )
    return format_html("{} left {}", told.who, _settings_link(told, "the team"))


@tells(Action.MEMBER_REMOVED, Action.ROLE_CHANGED)
def _member(told: Told) -> SafeString:
    member = _settings_link(told, told.params.get("member", "a member"))
    if told.event.action == Action.MEMBER_REMOVED:
        return format_html("{} removed {} from the team", told.who, member)
    return format_html(
        "{} changed the role of {}: {} → {}",
        told.who,
        member,
        _role(told.params.get("old_role")),
        _role(told.params.get("new_role")),
    )


# --- Provider calls heading a row of their own (no person's action in their request) -----


@tells(Action.GET_STATUS)
def _status(told: Told) -> SafeString:
    outcome = told.event.outcome
    if outcome == "code_received":
        return format_html("the poller received a code for {}", told.number())
    if outcome == "cancelled_by_provider":
        return format_html("{} cancelled {}", told.provider_name or "the provider", told.number())
    if isinstance(told.target, Activation):
        number = told.number()
    else:  # a failed poll is written with the account, naming the provider's activation id
        number = format_html(
            "activation {} at {}", told.params.get("id", "?"), told.accounts_link()
        )
    return format_html("the poller checking {} for a code: {}", number, outcome_words(outcome))


@tells(Action.GET_BALANCE)
def _balance_call(told: Told) -> SafeString:
    if isinstance(told.target, Provider):
        return format_html(
            "{} tried a new key for {}: {}",
            told.who,
            told.provider_name,
            outcome_words(told.event.outcome),
        )
    return format_html(
        "{} checked the balance at {}: {}",
        told.who,
        told.accounts_link(),
        told.event.answer if told.ok else outcome_words(told.event.outcome),
    )


@tells(Action.GET_SERVICES_AND_COST, Action.GET_COUNTRY_AND_OPERATORS)
def _sync_call(told: Told) -> SafeString:
    what = "prices" if told.event.action == Action.GET_SERVICES_AND_COST else "countries"
    return format_html(
        "{} asked {} for its {}: {}",
        told.who,
        told.provider_name or "the provider",
        what,
        outcome_words(told.event.outcome),
    )


@tells(Action.GET_NUMBER, Action.SET_STATUS)
def _other_call(told: Told) -> SafeString:
    return format_html(
        "{} called {} at {}: {}",
        told.who,
        told.event.action,
        told.provider_name or "the provider",
        outcome_words(told.event.outcome),
    )
