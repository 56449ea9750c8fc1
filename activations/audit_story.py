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
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy

from activations.models import Activation
from activations.routing.choice import policy_name
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
    "over_budget": gettext_lazy("over the budget"),
    "NO_NUMBERS": gettext_lazy("no numbers available"),
    "NO_BALANCE": gettext_lazy("not enough money at the provider"),
    "BAD_KEY": gettext_lazy("the key was refused"),
    "BAD_STATUS": gettext_lazy("the provider refused"),
    "NO_ACTIVATION": gettext_lazy("the provider no longer knows it"),
    "unavailable": gettext_lazy("the provider did not answer"),
    "rate_limited": gettext_lazy("the provider asked to slow down"),
    "protocol_error": gettext_lazy("the provider's answer could not be read"),
    "key_unreadable": gettext_lazy("the stored key could not be read"),
    "not_recorded": gettext_lazy("the number could not be recorded"),
    "not_recorded_cancelled": gettext_lazy("the number could not be recorded and was cancelled"),
    "unstorable": gettext_lazy("an answer SMS Desk cannot store"),
}

# Roles as the sentences name them (stored in payloads as the role's value).
ROLE_WORDS = {
    Role.OWNER: pgettext_lazy("role in the audit log", "owner"),
    Role.MANAGER: pgettext_lazy("role in the audit log", "manager"),
    Role.MEMBER: pgettext_lazy("role in the audit log", "member"),
    Role.VIEWER: pgettext_lazy("role in the audit log", "viewer"),
}

# The team's fields a "Team updated" event names (its payload's keys).
TEAM_FIELDS = {
    "name": pgettext_lazy("team field in the audit log", "name"),
    "time_zone": pgettext_lazy("team field in the audit log", "time zone"),
    "currency": pgettext_lazy("team field in the audit log", "currency"),
    "members_see_reports": pgettext_lazy("team field in the audit log", "members see reports"),
}


def outcome_words(outcome: str) -> str:
    return str(OUTCOME_WORDS.get(outcome, outcome))


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
            return _("the poller")
        if self.event.kind == AuditEvent.Kind.CALL:
            return _("the poller") if isinstance(self.target, Activation) else _("the catalog sync")
        return _("a former member")

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
        return _("no limit") if amount is None else money(amount, self.team.currency)

    def number(self) -> SafeString:
        """The activation's number, linked to its page (plain text once it is gone)."""
        if isinstance(self.target, Activation):
            return format_html(
                '<a href="{}">{}</a>',
                self.url("activations:detail", self.target.pk),
                phone_text(self.target.phone),
            )
        phone = self.params.get("phone")
        # Translators: a number no longer known, where the sentences put the phone (Russian:
        # nominative/accusative, «номер»).
        return format_html("{}", phone_text(str(phone)) if phone else _("a number"))

    def accounts_link(self) -> SafeString:
        return format_html(
            '<a href="{}">{}</a>',
            self.url("activations:accounts"),
            # Translators: a provider's name, in "alice replaced the key of a provider" and
            # "refreshed the balance at a provider" (Russian: the genitive, after "u"/"dlya").
            self.provider_name or _("a provider"),
        )

    @property
    def provider_or_any(self) -> str:
        """The provider's name, "the provider" when the event names none (a sentence's
        subject)."""
        return self.provider_name or _("the provider")

    @property
    def at_provider(self) -> str:
        """The provider's name, "the provider" when the event names none, as the sentences
        place it after "at" or "asked"."""
        # Translators: in "the catalog sync asked the provider for its prices" and "alice
        # called getNumber at the provider" (Russian: the genitive, after "u").
        return self.provider_name or pgettext("audit log: at the provider", "the provider")


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


# Each sentence is one translatable string with named placeholders ({actor}, {phone}...),
# filled by format_html (which escapes each part): Russian orders the words its own way.


def _generic(told: Told) -> SafeString:
    # Translators: an action the log has no sentence for: "alice: team updated".
    return format_html(
        _("{actor}: {action}"),
        actor=told.who,
        action=str(action_label(told.event.action)).lower(),
    )


# --- People's actions on numbers ---------------------------------------------------------


@tells(Action.BOUGHT)
def _bought(told: Told) -> SafeString:
    target, price = told.target, told.price(told.params.get("price"))
    if isinstance(target, Activation):
        return format_html(
            _("{actor} bought {phone} ({service}, {country}) at {provider} for {amount}"),
            actor=told.who,
            phone=told.number(),
            service=target.service.shown_name,
            country=target.country.shown_name,
            provider=told.provider_name,
            amount=price,
        )
    if isinstance(target, Offer):
        return format_html(
            _(
                "{actor} tried to buy a {service} number in {country} at {provider} "
                "for {amount}: {outcome}"
            ),
            actor=told.who,
            service=target.service.shown_name,
            country=target.country.shown_name,
            provider=told.provider_name,
            amount=price,
            outcome=outcome_words(told.event.outcome),
        )
    return format_html(
        _("{actor} tried to buy a number for {amount}: {outcome}"),
        actor=told.who,
        amount=price,
        outcome=outcome_words(told.event.outcome),
    )


# Each move's sentence: done, and tried without success.
MOVES = {
    Action.RETRY_REQUESTED: (
        gettext_lazy("{actor} asked for another SMS on {phone}"),
        gettext_lazy("{actor} tried to ask for another SMS on {phone}: {outcome}"),
    ),
    Action.COMPLETED: (
        gettext_lazy("{actor} completed {phone}"),
        gettext_lazy("{actor} tried to complete {phone}: {outcome}"),
    ),
    Action.CANCELLED: (
        gettext_lazy("{actor} cancelled {phone}"),
        gettext_lazy("{actor} tried to cancel {phone}: {outcome}"),
    ),
}


@tells(*MOVES)
def _moved(told: Told) -> SafeString:
    done, tried = MOVES[told.event.action]
    if told.ok:
        return format_html(str(done), actor=told.who, phone=told.number())
    return format_html(
        str(tried),
        actor=told.who,
        phone=told.number(),
        outcome=outcome_words(told.event.outcome),
    )


@tells(Action.EXPIRED, Action.COMPLETED_AT_EXPIRY)
def _expired(told: Told) -> SafeString:
    if told.event.action == Action.EXPIRED:
        return format_html(_("{phone} expired with no code; it costs nothing"), phone=told.number())
    return format_html(
        _("{phone} ran out of time after its code and was completed"), phone=told.number()
    )


# --- Keys and balances -------------------------------------------------------------------

# Each key action's sentence: without the masked key, and with it.
KEYS = {
    Action.KEY_ADDED: (
        gettext_lazy("{actor} added a key for {provider}"),
        gettext_lazy("{actor} added a key for {provider} (key {key})"),
    ),
    Action.KEY_REPLACED: (
        gettext_lazy("{actor} replaced the key of {provider}"),
        gettext_lazy("{actor} replaced the key of {provider} (key {key})"),
    ),
    Action.KEY_REMOVED: (
        gettext_lazy("{actor} removed the key of {provider}"),
        gettext_lazy("{actor} removed the key of {provider} (key {key})"),
    ),
}


@tells(*KEYS)
def _key(told: Told) -> SafeString:
    plain, with_key = KEYS[told.event.action]
    masked = told.params.get("masked_key")
    return format_html(
        str(with_key if masked else plain),
        actor=told.who,
        provider=told.accounts_link(),
        key=masked or "",
    )


@tells(Action.BALANCE_REFRESHED)
def _balance(told: Told) -> SafeString:
    before, after = told.params.get("before"), told.params.get("after")
    if before is None:
        return format_html(
            _("{actor} checked the balance at {provider}: {balance}"),
            actor=told.who,
            provider=told.accounts_link(),
            balance=told.price(after),
        )
    return format_html(
        _("{actor} refreshed the balance at {provider}: {before} → {after}"),
        actor=told.who,
        provider=told.accounts_link(),
        before=told.price(before),
        after=told.price(after),
    )


# --- Budgets, routing, tokens ------------------------------------------------------------


@tells(Action.BUDGET_CHANGED)
def _budget(told: Told) -> SafeString:
    target = told.params.get("target")
    if target == "team":
        sentence = _(
            '{actor} changed <a href="{url}">the team\'s monthly budget</a>: {before} → {after}'
        )
    elif target:
        sentence = _(
            '{actor} changed <a href="{url}">{member}\'s monthly limit</a>: {before} → {after}'
        )
    else:  # an event written without its member
        sentence = _(
            '{actor} changed <a href="{url}">a member\'s monthly limit</a>: {before} → {after}'
        )
    return format_html(
        sentence,
        actor=told.who,
        url=told.url("activations:budgets"),
        member=target,
        before=told.team_money(told.params.get("before")),
        after=told.team_money(told.params.get("after")),
    )


@tells(Action.ROUTING_CHANGED)
def _routing(told: Told) -> SafeString:
    target, before, after = (told.params.get(k) for k in ("target", "before", "after"))
    link = told.url("activations:routing")
    if target == "policy":
        return format_html(
            _('{actor} changed the <a href="{url}">routing policy</a>: {before} → {after}'),
            actor=told.who,
            url=link,
            before=policy_name(before) if before else _("none"),
            after=policy_name(after),
        )
    return format_html(
        _(
            '{actor} changed the <a href="{url}">highest price</a> for {service}: '
            "{before} → {after}"
        ),
        actor=told.who,
        url=link,
        service=target,
        before=told.team_money(before),
        after=told.team_money(after),
    )


@tells(Action.TOKEN_CREATED, Action.TOKEN_REVOKED)
def _token(told: Told) -> SafeString:
    created = told.event.action == Action.TOKEN_CREATED
    owner = told.params.get("owner")
    if owner and owner != told.who:
        if created:
            sentence = _('{actor} created API token <a href="{url}">“{name}”</a> of {owner}')
        else:
            sentence = _('{actor} revoked API token <a href="{url}">“{name}”</a> of {owner}')
    elif created:
        sentence = _('{actor} created API token <a href="{url}">“{name}”</a>')
    else:
        sentence = _('{actor} revoked API token <a href="{url}">“{name}”</a>')
    return format_html(
        sentence,
        actor=told.who,
        url=told.url("activations:api_access"),
        name=told.params.get("name", ""),
        owner=owner or "",
    )


# --- The team and its members ------------------------------------------------------------


def _role(value) -> str:
    """The role's word ("manager"); a value that is no known role is shown as stored."""
    if value in ROLE_WORDS:
        return str(ROLE_WORDS[value])
    return str(dict(Role.choices).get(value, value or "")).lower()


def _settings_url(told: Told) -> str:
    return reverse("team_settings", args=[told.team.slug])


def _settings_link(told: Told, text: str) -> SafeString:
    return format_html('<a href="{}">{}</a>', _settings_url(told), text)


def _team_change(name: str, value) -> str:
    field = TEAM_FIELDS.get(name)
    return f"{field if field is not None else name.replace('_', ' ')} → {value}"


@tells(Action.TEAM_UPDATED)
def _team(told: Told) -> SafeString:
    changes = ", ".join(_team_change(name, value) for name, value in told.params.items())
    return format_html(
        _('{actor} updated <a href="{url}">the team</a>: {changes}'),
        actor=told.who,
        url=_settings_url(told),
        changes=changes,
    )


@tells(Action.MEMBER_INVITED, Action.INVITATION_REVOKED)
def _invitation(told: Told) -> SafeString:
    email = _settings_link(told, told.params.get("email", ""))
    if told.event.action == Action.MEMBER_INVITED:
        return format_html(
            _("{actor} invited {email} as {role}"),
            actor=told.who,
            email=email,
            role=_role(told.params.get("role")),
        )
    return format_html(_("{actor} revoked the invitation of {email}"), actor=told.who, email=email)


@tells(Action.MEMBER_JOINED, Action.MEMBER_LEFT)
def _joined_or_left(told: Told) -> SafeString:
    if told.event.action == Action.MEMBER_JOINED:
        return format_html(
            _('{actor} joined <a href="{url}">the team</a> as {role}'),
            actor=told.who,
            url=_settings_url(told),
            role=_role(told.params.get("role")),
        )
    return format_html(
        _('{actor} left <a href="{url}">the team</a>'), actor=told.who, url=_settings_url(told)
    )


@tells(Action.MEMBER_REMOVED, Action.ROLE_CHANGED)
def _member(told: Told) -> SafeString:
    params = told.params
    # Translators: in "alice removed a member from the team" and "changed the role of a
    # member" (Russian: «участника»).
    member = _settings_link(told, params["member"] if "member" in params else _("a member"))
    if told.event.action == Action.MEMBER_REMOVED:
        return format_html(
            _("{actor} removed {member} from the team"), actor=told.who, member=member
        )
    return format_html(
        _("{actor} changed the role of {member}: {before} → {after}"),
        actor=told.who,
        member=member,
        before=_role(told.params.get("old_role")),
        after=_role(told.params.get("new_role")),
    )


# --- Provider calls heading a row of their own (no person's action in their request) -----


@tells(Action.GET_STATUS)
def _status(told: Told) -> SafeString:
    outcome = told.event.outcome
    if outcome == "code_received":
        return format_html(_("the poller received a code for {phone}"), phone=told.number())
    if outcome == "cancelled_by_provider":
        return format_html(
            _("{provider} cancelled {phone}"), provider=told.provider_or_any, phone=told.number()
        )
    if isinstance(told.target, Activation):
        return format_html(
            _("the poller checking {phone} for a code: {outcome}"),
            phone=told.number(),
            outcome=outcome_words(outcome),
        )
    # a failed poll is written with the account, naming the provider's activation id
    return format_html(
        _("the poller checking activation {id} at {provider} for a code: {outcome}"),
        id=told.params.get("id", "?"),
        provider=told.accounts_link(),
        outcome=outcome_words(outcome),
    )


@tells(Action.GET_BALANCE)
def _balance_call(told: Told) -> SafeString:
    if isinstance(told.target, Provider):
        return format_html(
            _("{actor} tried a new key for {provider}: {outcome}"),
            actor=told.who,
            provider=told.provider_name,
            outcome=outcome_words(told.event.outcome),
        )
    return format_html(
        _("{actor} checked the balance at {provider}: {balance}"),
        actor=told.who,
        provider=told.accounts_link(),
        balance=told.event.answer if told.ok else outcome_words(told.event.outcome),
    )


@tells(Action.GET_SERVICES_AND_COST, Action.GET_COUNTRY_AND_OPERATORS)
def _sync_call(told: Told) -> SafeString:
    if told.event.action == Action.GET_SERVICES_AND_COST:
        sentence = _("{actor} asked {provider} for its prices: {outcome}")
    else:
        sentence = _("{actor} asked {provider} for its countries: {outcome}")
    return format_html(
        sentence,
        actor=told.who,
        provider=told.at_provider,
        outcome=outcome_words(told.event.outcome),
    )


@tells(Action.GET_NUMBER, Action.SET_STATUS)
def _other_call(told: Told) -> SafeString:
    # Translators: {action} is the provider protocol's action name (getNumber), kept as is.
    return format_html(
        _("{actor} called {action} at {provider}: {outcome}"),
        actor=told.who,
        action=told.event.action,
        provider=told.at_provider,
        outcome=outcome_words(told.event.outcome),
    )
