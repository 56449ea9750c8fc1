"""Members' personal API tokens: creating one (shown once), who sees and revokes which, and
finding the token behind a request of the team gateway.

A token is `smsd_` and 40 random letters and digits. Only its SHA-256 is stored: with that much
randomness no slow hash is needed, and the lookup is one indexed query. It acts as its member:
the gateway reads the member's role and monthly limit at each request, a revoked token or a
member who left (the membership's deletion clears `ApiToken.membership`) stops it at once.
"""

import hashlib
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dashboard.access import require_role, require_same_team
from dashboard.audit import Action, record_by
from dashboard.models import BUYERS, MANAGERS, ApiToken, Membership

SCHEME = "smsd_"
SECRET_LENGTH = 40
PREFIX_LENGTH = len(SCHEME) + 8  # the visible part: "smsd_" and 8 characters
TOKEN_PATTERN = re.compile(rf"{SCHEME}[A-Za-z0-9]{{{SECRET_LENGTH}}}")
ALPHABET = string.ascii_letters + string.digits
# "Last used" is written at most this often per token, so polling writes (almost) nothing.
LAST_USED_EVERY = timedelta(seconds=60)


def new_secret() -> str:
    return SCHEME + "".join(secrets.choice(ALPHABET) for _ in range(SECRET_LENGTH))


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    """A token just created, and its secret: the only time the secret exists in clear."""

    token: ApiToken
    secret: str


def create_token(
    *,
    acting: Membership,
    name: str,
    max_price: Decimal | None = None,
    daily_limit: int | None = None,
    services: list[str] | tuple[str, ...] = (),
    balance_prefix: bool = False,
    ip: str | None = None,
) -> NewToken:
    """A new token for the acting member (who must be allowed to buy)."""
    require_role(acting, BUYERS, _("Only members who may buy can create API tokens."))
    secret = new_secret()
    with transaction.atomic():
        token = ApiToken.objects.create(
            team=acting.team,
            user=acting.user,
            membership=acting,
            name=name,
            prefix=secret[:PREFIX_LENGTH],
            digest=digest_of(secret),
            max_price=max_price,
            daily_limit=daily_limit,
            services=sorted(set(services)),
            balance_prefix=balance_prefix,
        )
        record_by(
            acting,
            Action.TOKEN_CREATED,
            obj=token,
            ip=ip,
            name=name,
            prefix=token.prefix,
            max_price=max_price,
            daily_limit=daily_limit,
            services=token.services,
        )
    return NewToken(token, secret)


def visible_tokens(acting: Membership) -> QuerySet[ApiToken]:
    """The tokens the acting member sees: owners and managers every token of the team, the
    others their own."""
    tokens = ApiToken.objects.filter(team=acting.team).select_related("user", "revoked_by")
    if acting.role in MANAGERS:
        return tokens
    return tokens.filter(user_id=acting.user_id)


REVOKE_REFUSED = gettext_lazy("Only owners and managers revoke other members' tokens.")


def may_revoke(acting: Membership, token: ApiToken) -> bool:
    """A token of the acting member's team that is theirs, or they are an owner or manager."""
    return token.team_id == acting.team_id and (
        token.user_id == acting.user_id or acting.role in MANAGERS
    )


def revoke_token(*, acting: Membership, token: ApiToken, ip: str | None = None) -> bool:
    """Revoke a token (its owner, or an owner or manager of the team); False if it already was."""
    require_same_team(acting, token, _("This token belongs to another team."))
    if not may_revoke(acting, token):
        raise PermissionDenied(REVOKE_REFUSED)
    now = timezone.now()
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=acting.user
        )
        if revoked:
            token.revoked_at, token.revoked_by = now, acting.user
            record_by(
                acting,
                Action.TOKEN_REVOKED,
                obj=token,
                ip=ip,
                name=token.name,
                prefix=token.prefix,
                owner=token.user.get_username(),
            )
    return bool(revoked)


def token_for(secret: str) -> ApiToken | None:
    """The working token behind a secret, with its membership, team and user (one query);
    None for anything else (malformed, unknown, revoked, or its member gone)."""
    if not isinstance(secret, str) or not TOKEN_PATTERN.fullmatch(secret):
        return None
    found = (
        ApiToken.objects.select_related("membership__team", "membership__user")
        .filter(digest=digest_of(secret), revoked_at__isnull=True, membership__isnull=False)
        .order_by()  # the digest is unique: no ORDER BY to build (.first() would add one)
    )
    return next(iter(found), None)


def note_use(token: ApiToken, ip: str | None, now: datetime | None = None) -> None:
    """Stamp "last used" (time and address), at most once per LAST_USED_EVERY."""
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_EVERY:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip)
    token.last_used_at, token.last_used_ip = now, ip
