"""The team gateway's one address: the handler_api protocol, answered to the team's programs
with a member's personal token as `api_key`.

Every answer is text/plain, the document's words (`activations.gateway.answers`), HTTP 200 as
the family answers even its errors; only the brakes answer 429 (`activations.gateway.throttle`).
Never an HTML page: a database failure is `ERROR_SQL`, anything unexpected too (logged).

The order of the checks: an address locked out for bad tokens (429); the token (`BAD_KEY`,
counted toward the lockout; also for a member who may no longer buy; getStatus's lookup is kept
up to a second, `recent_tokens`, every other action's is fresh); the token's rate (429);
`lang` (`BAD_LANG` when given and not ru/en); the action (`BAD_ACTION`). Parameters come from
the form body first, then the URL; the first of repeated values counts, and a value over
`MAX_VALUE_LENGTH` is as good as missing (the field's own error word).
"""

import logging
import re
import secrets
from decimal import Decimal, InvalidOperation

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from activations import moves
from activations.gateway import offers, throttle
from activations.gateway.answers import (
    BAD_ACTION,
    BAD_KEY,
    BAD_LANG,
    BAD_SERVICE,
    BAD_STATUS,
    EARLY_CANCEL_DENIED,
    ERROR_SQL,
    NO_ACTIVATION,
    NO_BALANCE,
    NO_NUMBERS,
    TOO_MANY_REQUESTS,
    balance_answer,
    json_text,
    number_answer,
    status_answer,
)
from activations.gateway.recent_tokens import recent_token
from activations.models import Activation
from activations.routing import Want, buy_routed
from dashboard.audit import client_ip, through_token
from dashboard.middleware import answers_database_errors
from dashboard.models import ApiToken
from dashboard.teams import team_today
from dashboard.tokens import note_use, token_for

log = logging.getLogger(__name__)

MAX_VALUE_LENGTH = 200
LANGUAGES = ("ru", "en")
ID_PATTERN = re.compile(r"[0-9]{1,18}")
COUNTRY_PATTERN = re.compile(r"-?[0-9]{1,9}")
PURCHASE_ANSWERS = frozenset({NO_BALANCE, NO_NUMBERS, BAD_SERVICE})
MOVE_REFUSALS = frozenset({BAD_STATUS, EARLY_CANCEL_DENIED, NO_ACTIVATION, NO_BALANCE})
MOVES = {"3": moves.request_another_sms, "6": moves.complete, "8": moves.cancel}


class Params:
    """The request's parameters: the form body's first, then the URL's; the first value of a
    repeated one; None for a missing or over-long one."""

    def __init__(self, request: HttpRequest) -> None:
        self.sources = [request.POST, request.GET] if request.method == "POST" else [request.GET]

    def given(self, name: str) -> bool:
        return any(name in source for source in self.sources)

    def get(self, name: str) -> str | None:
        for source in self.sources:
            values = source.getlist(name)
            if values:
                value = values[0]
                return value if len(value) <= MAX_VALUE_LENGTH else None
        return None


def _text(body: str, status: int = 200, **headers: str) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _too_many(seconds: int) -> HttpResponse:
    return _text(TOO_MANY_REQUESTS, status=429, Retry_After=str(seconds))


@csrf_exempt
@login_not_required
@answers_database_errors
def handler_api(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "POST"):
        return _text(BAD_ACTION, status=405, Allow="GET, POST")
    try:
        return _answer(request)
    except DatabaseError as error:
        log.warning("Gateway request failed on the database (%s)", type(error).__name__)
        return _text(ERROR_SQL)
    except Exception:
        log.exception("Gateway request failed")
        return _text(ERROR_SQL)


def _answer(request: HttpRequest) -> HttpResponse:
    ip = client_ip(request)
    if seconds := throttle.locked_for(ip):
        return _too_many(seconds)
    try:
        params = Params(request)
        secret = params.get("api_key")
    except Exception:  # a body Django refuses to parse (too big, too many fields, broken)
        return _text(BAD_ACTION)
    if not secret:
        token = None
    elif params.get("action") == "getStatus":
        token = recent_token(secret)  # kept up to a second: the action programs repeat
    else:
        token = token_for(secret)
    if token is None:
        throttle.note_bad_token(ip)
        return _text(BAD_KEY)
    membership = token.membership
    if not membership.can_buy:
        return _text(BAD_KEY)  # a viewer now: the token acts with its member's role
    if not throttle.admit(token.pk, team_today(membership.team)):
        return _too_many(1)
    with through_token(token):
        note_use(token, ip)
        if params.given("lang") and params.get("lang") not in LANGUAGES:
            return _text(BAD_LANG)
        action = ACTIONS.get(params.get("action") or "")
        if action is None:
            return _text(BAD_ACTION)
        return _text(action(token, params, ip))


def _get_balance(token: ApiToken, params: Params, ip: str | None) -> str:
    return balance_answer(token)


def _country_operator(params: Params) -> tuple[int, str] | None:
    """(country, operator), country 0 and operator "any" when left out or empty; None when
    either is unusable (over-long, or a country that is not a number): no offer matches."""
    country, operator = params.get("country"), params.get("operator")
    if (country is None and params.given("country")) or (
        operator is None and params.given("operator")
    ):
        return None
    country = country or str(offers.DEFAULT_COUNTRY)
    if not COUNTRY_PATTERN.fullmatch(country):
        return None
    return int(country), operator or offers.DEFAULT_OPERATOR


def _get_countries(token: ApiToken, params: Params, ip: str | None) -> str:
    return json_text(offers.countries_rows(token, lang=params.get("lang")))


def _get_services(token: ApiToken, params: Params, ip: str | None) -> str:
    where = _country_operator(params)
    if where is None:
        return json_text([])
    return json_text(offers.services_rows(token, *where, lang=params.get("lang")))


def _max_price(params: Params) -> Decimal | None:
    """The family's optional maxPrice; anything but a number of at least 0 is ignored."""
    value = (params.get("maxPrice") or "").strip()
    try:
        price = Decimal(value)
    except InvalidOperation:
        return None
    return price if price.is_finite() and price >= 0 else None


def _get_number(token: ApiToken, params: Params, ip: str | None) -> str:
    if not params.given("service"):
        return BAD_ACTION
    service = params.get("service")
    if not service:
        return BAD_SERVICE
    where = _country_operator(params)
    if where is None:
        return NO_NUMBERS
    purchase = buy_routed(
        acting=token.membership,
        want=Want(service, *where, max_price=_max_price(params)),
        request_token=secrets.token_urlsafe(16),
        ip=ip,
        api_token=token,
    )
    if purchase.ok and purchase.activation is not None:
        return number_answer(purchase.activation)
    return purchase.answer if purchase.answer in PURCHASE_ANSWERS else ERROR_SQL


def _named_activation(token: ApiToken, params: Params) -> QuerySet[Activation]:
    """The team's activation named by `id`: none or one row (none, without a query, for an
    unusable id)."""
    value = (params.get("id") or "").strip()
    if not ID_PATTERN.fullmatch(value):
        return Activation.objects.none()
    return Activation.objects.filter(pk=int(value), team_id=token.membership.team_id).order_by()


def _get_status(token: ApiToken, params: Params, ip: str | None) -> str:
    for state, codes in _named_activation(token, params).values_list("state", "codes"):
        return status_answer(state, codes)
    return NO_ACTIVATION


def _set_status(token: ApiToken, params: Params, ip: str | None) -> str:
    activation = _named_activation(token, params).first()
    if activation is None:
        return NO_ACTIVATION
    move = MOVES.get((params.get("status") or "").strip())
    if move is None:
        return BAD_STATUS
    outcome = move(acting=token.membership, activation=activation, ip=ip)
    answer = outcome.answer
    if answer.startswith("ACCESS_") or answer in MOVE_REFUSALS:
        return answer
    return ERROR_SQL


ACTIONS = {
    "getBalance": _get_balance,
    "getCountryAndOperators": _get_countries,
    "getServicesAndCost": _get_services,
    "getNumber": _get_number,
    "getStatus": _get_status,
    "setStatus": _set_status,
}
