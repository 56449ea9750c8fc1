"""Serve the sandbox provider on its own port until stopped (a development tool)."""

import dataclasses
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.sandbox_views import sandbox_mounts
from provider.sandbox.faults import FAULT_GROUPS, FAULT_KINDS, fault_help
from provider.sandbox.market import Market
from provider.sandbox.rules import Sandbox
from provider.sandbox.server import SandboxServer


def _amount(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise CommandError(f"Not an amount: {value!r}") from None


class Command(BaseCommand):
    help = (
        "Serve the sandbox handler_api provider (in memory, one process) and print its URL. "
        "Without --api-key it knows settings.SANDBOX_API_KEY. With --fault it plays a hostile "
        "provider (--list-faults says what each fault answers)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8001, help="0 picks a free port.")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--code-delay",
            type=float,
            default=None,
            help="Seconds until a code arrives (default: SANDBOX_CODE_DELAY); with a market, "
            "the median delay.",
        )
        parser.add_argument(
            "--market",
            default=None,
            metavar="NAME",
            help="Play the market of a SANDBOX_MARKETS entry, by name (e.g. 'Sandbox B'): its "
            "prices, its numbers that never get a code, its code delays.",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=None,
            help="Play a market of this seed (its own prices and stock; with --market, that "
            "market's other knobs). Without --market or --seed: the classic catalog, every "
            "code after --code-delay.",
        )
        parser.add_argument(
            "--api-key", action="append", default=[], help="A key it knows (repeatable)."
        )
        parser.add_argument("--balance", type=_amount, default=Decimal("1000"))
        parser.add_argument(
            "--lifetime", type=float, default=None, help="Seconds an activation lives."
        )
        parser.add_argument("--min-cancel-age", type=float, default=0.0)
        parser.add_argument(
            "--rate-limit", type=float, default=None, help="Requests per second per key."
        )
        parser.add_argument(
            "--fault",
            action="append",
            default=[],
            choices=[*FAULT_KINDS, *FAULT_GROUPS],
            metavar="KIND",
            help="Answer every request of every key with this fault (repeatable).",
        )
        parser.add_argument(
            "--fault-seconds",
            type=float,
            default=None,
            help="The faults' seconds: a latency, a timeout's hold, a trickle's interval.",
        )
        parser.add_argument(
            "--list-faults", action="store_true", help="Print the fault kinds and stop."
        )

    def handle(self, *args, **options):
        if options["list_faults"]:
            self.stdout.write(fault_help())
            return
        keys = options["api_key"] or [settings.SANDBOX_API_KEY]
        if not all(keys):
            raise CommandError("Give an --api-key (SANDBOX_API_KEY is not set).")
        code_delay = options["code_delay"]
        lifetime = options["lifetime"]
        market = _market(options["market"], options["seed"], code_delay)
        sandbox = Sandbox(
            code_delay=settings.SANDBOX_CODE_DELAY if code_delay is None else code_delay,
            lifetime=settings.ACTIVATION_LIFETIME_MINUTES * 60.0 if lifetime is None else lifetime,
            min_cancel_age=options["min_cancel_age"],
            rate_limit=options["rate_limit"],
            market=market,
        )
        for key in keys:
            sandbox.add_account(key, options["balance"])
        for fault in options["fault"]:
            sandbox.set_fault(fault, seconds=options["fault_seconds"])
        try:
            server = SandboxServer(sandbox, options["host"], options["port"])
        except OSError as exc:
            message = f"Cannot listen on {options['host']}:{options['port']}: {exc}"
            raise CommandError(message) from None
        # The URL alone on the first line, for scripts; never the keys.
        self.stdout.write(server.url)
        codes = f"codes after {sandbox.code_delay:g} s" if market is None else _describe(market)
        self.stdout.write(
            f"Sandbox provider: {len(keys)} API key(s) with a balance of {options['balance']}, "
            f"{codes}. State is in memory; Ctrl+C stops it."
        )
        if options["fault"]:
            self.stdout.write(f"Hostile: {', '.join(options['fault'])} on every request.")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()


def _market(name: str | None, seed: int | None, code_delay: float | None) -> Market | None:
    """The market --market and --seed ask for (None: neither, the classic sandbox)."""
    if name is None and seed is None:
        return None
    market = Market()
    if name is not None:
        markets = {mount.name: mount.market for mount in sandbox_mounts()}
        if name not in markets:
            raise CommandError(f"No market {name!r} in SANDBOX_MARKETS: {', '.join(markets)}.")
        market = markets[name]
    if seed is not None:
        market = dataclasses.replace(market, seed=seed)
    if code_delay is not None:
        market = dataclasses.replace(market, median_delay=code_delay)
    return market


def _describe(market: Market) -> str:
    return (
        f"market seed {market.seed} (prices x{market.price_factor:g}): about "
        f"{market.never_code_share:.0%} of numbers never get a code, the others after a median "
        f"of {market.median_delay:g} s"
    )
