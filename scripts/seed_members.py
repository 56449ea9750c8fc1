"""Give a running production stack many team members, each signed in with an open activation.

Run by the load and fault scripts with the stack's environment (it sets Django up itself):

    python scripts/seed_members.py --provider NAME --owner owner --teams 10 --members 20 \\
        --key-file keys.txt --buy tg:0:any --out members.json

Creates teams `load-01`...(the owner is their owner), attaches one key per team (from
--key-file, one per line, through `catalog.accounts.attach_key`, which checks it at the provider),
syncs the provider's catalog if --sync is given (it lists prices with a team's key), then
members `m-01-001`... with role member, a database session each (so the load starts
signed in, without a password hash per member on the server's CPU), and buys each one number
through `activations.buying.buy_number` (the buy page's service) when --buy is given. Writes
a JSON list of {username, team, session, activation} to --out. Keys are read from a file,
never argv.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402

from activations.buying import buy_number  # noqa: E402
from activations.forms import new_request_token  # noqa: E402
from catalog.accounts import attach_key  # noqa: E402
from catalog.models import Offer, Provider  # noqa: E402
from dashboard.models import Membership, Role, Team  # noqa: E402


def session_for(user: User) -> str:
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--provider", required=True)
    parser.add_argument("--owner", required=True)
    parser.add_argument("--teams", type=int, default=1)
    parser.add_argument("--members", type=int, default=20, help="Per team.")
    parser.add_argument("--key-file", required=True)
    parser.add_argument("--buy", default="", help="service:country:operator, e.g. tg:0:any")
    parser.add_argument(
        "--team-budget-buys", type=int, default=None, help="Monthly budget: N of --buy's price."
    )
    parser.add_argument(
        "--member-limit-buys", type=int, default=None, help="Member limit: N of --buy's price."
    )
    parser.add_argument("--prefix", default="load")
    parser.add_argument(
        "--sync", action="store_true", help="Sync the provider's catalog once keys are attached."
    )
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    keys = Path(args.key_file).read_text().split()
    provider = Provider.objects.get(name=args.provider)
    owner = User.objects.get(username=args.owner)
    password = make_password(None)  # unusable: members of the load never type a password
    teams = []
    for t in range(1, args.teams + 1):
        slug = f"{args.prefix}-{t:02d}"
        team, _ = Team.objects.update_or_create(slug=slug, defaults={"name": f"Load team {t}"})
        owning, _ = Membership.objects.get_or_create(
            team=team, user=owner, defaults={"role": Role.OWNER}
        )
        attach_key(acting=owning, provider=provider, api_key=keys[(t - 1) % len(keys)])
        teams.append(team)
    if args.sync:
        call_command("sync_catalog", provider=provider.name)

    offer = None
    if args.buy:
        service, country, operator = args.buy.split(":")
        offer = Offer.objects.select_related("provider").get(
            provider=provider,
            service__code=service,
            country__external_id=int(country),
            operator__code=operator,
        )
        if args.team_budget_buys is not None:
            budget = offer.price * args.team_budget_buys
            Team.objects.filter(pk__in=[t.pk for t in teams]).update(monthly_budget=budget)
            for team in teams:
                team.monthly_budget = budget
    member_limit = None
    if offer is not None and args.member_limit_buys is not None:
        member_limit = offer.price * args.member_limit_buys

    people = []
    for t, team in enumerate(teams, start=1):
        for m in range(1, args.members + 1):
            user, _ = User.objects.get_or_create(
                username=f"m-{t:02d}-{m:03d}", defaults={"password": password}
            )
            membership, _ = Membership.objects.update_or_create(
                team=team,
                user=user,
                defaults={"role": Role.MEMBER, "monthly_limit": member_limit},
            )
            people.append(
                {"username": user.username, "team": team.slug, "user": user, "m": membership}
            )

    def settle(person: dict) -> dict:
        try:
            person["session"] = session_for(person["user"])
            person["activation"] = None
            if offer is not None:
                outcome = buy_number(
                    acting=person["m"], offer=offer, request_token=new_request_token()
                )
                if not outcome.ok:
                    raise SystemExit(f"{person['username']} could not buy: {outcome.message}")
                person["activation"] = outcome.activation.pk
            return {k: person[k] for k in ("username", "team", "session", "activation")}
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        rows = list(pool.map(settle, people))
    Path(args.out).write_text(json.dumps(rows, indent=1))
    bought = sum(1 for row in rows if row["activation"])
    if offer is not None:
        # The buy page's values: the protocol's ids, the same at every provider.
        print(f"offer service={service} country={country} operator={operator} price={offer.price}")
    print(f"seeded {len(rows)} members in {args.teams} team(s), {bought} activations bought")


if __name__ == "__main__":
    main()
