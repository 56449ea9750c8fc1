"""A sandbox provider's market: what it sells at what price, and how reliably codes arrive.

Real providers differ in more than price: for a given service and operator some numbers never
receive their SMS, and the codes that do arrive take their time. A `Market` gives a sandbox
that character, deterministically from its seed, so that several sandboxes can stand for
several providers and routing has something to learn:

- prices and stock come from `catalog_offer(..., seed)` (seed 0 is the sandbox's classic
  catalog), prices times `price_factor` (a cheap provider, a dear one);
- each (service, country, operator) has its own share of numbers that never get a code and
  its own median delay, spread around the market's `never_code_share` and `median_delay` by
  `variation`;
- each activation draws, from the seed and its id alone, whether its number ever gets a code
  and, if so, a delay from a log-normal around its combination's median (`spread` is the
  log-normal's sigma).

`time_scale` shrinks every delay (0.01: a market minute passes in 0.6 s), for benchmarks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from statistics import NormalDist

from provider.sandbox.catalog import CENT, Offer, catalog_offer, digest

_UNIT = 2.0**64  # digest() is a 64-bit integer
_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class Reliability:
    """How one (service, country, operator) of a market delivers codes."""

    never_code_share: float  # share of numbers that never get a code
    median_delay: float  # market seconds from purchase to the first code, when one comes


@dataclass(frozen=True, slots=True)
class Market:
    seed: int = 0
    price_factor: float = 1.0
    never_code_share: float = 0.1
    median_delay: float = 15.0  # seconds
    spread: float = 0.6  # sigma of each activation's log-normal delay
    variation: float = 0.5  # how far combinations stray from the market's share and median
    time_scale: float = 1.0  # sandbox seconds per market second

    def __post_init__(self) -> None:
        if not 0.0 <= self.never_code_share <= 1.0:
            raise ValueError("never_code_share is a share, between 0 and 1.")
        if self.median_delay < 0 or self.spread < 0 or self.variation < 0:
            raise ValueError("median_delay, spread and variation cannot be negative.")
        if self.time_scale <= 0 or self.price_factor <= 0:
            raise ValueError("time_scale and price_factor must be positive.")

    def offer(self, service: str, country: int, operator: str) -> Offer:
        offer = catalog_offer(service, country, operator, seed=self.seed)
        if offer.quantity == 0 or self.price_factor == 1:
            return offer
        price = (offer.price * Decimal(str(self.price_factor))).quantize(CENT)
        return Offer(max(CENT, price), offer.quantity)

    def reliability(self, service: str, country: int, operator: str) -> Reliability:
        """The combination's own share and median: the market's, each moved by a factor drawn
        from the seed (within 1 ± variation for the share, e^±variation for the median)."""
        share_draw = self._uniform("never share", service, country, operator)
        median_draw = self._uniform("median", service, country, operator)
        share = self.never_code_share * (1 + self.variation * (2 * share_draw - 1))
        median = self.median_delay * math.exp(self.variation * (2 * median_draw - 1))
        return Reliability(min(1.0, max(0.0, share)), median)

    def code_delay(
        self, service: str, country: int, operator: str, activation_id: int, n: int = 0
    ) -> float | None:
        """Sandbox seconds until the n-th code of an activation arrives (n = 0: the first), or
        None: this number never gets its first code."""
        reliability = self.reliability(service, country, operator)
        if n == 0 and self._uniform("never", activation_id) < reliability.never_code_share:
            return None
        z = _NORMAL.inv_cdf(self._uniform("delay", activation_id, n))
        return reliability.median_delay * math.exp(self.spread * z) * self.time_scale

    def _uniform(self, *parts: object) -> float:
        """A number in (0, 1), the same for the same seed and parts."""
        return (digest("market", self.seed, *parts) + 0.5) / _UNIT
