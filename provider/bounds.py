"""What a provider's answer may hold: the bounds every parser checks, and storable text.

Each bound is what a database column holds (the model it fits is named), so that an answer
that passes the parsers always fits. Pure Python (no Django): the single statement of those
bounds; the models' tests check that the columns agree.
"""

from __future__ import annotations

import re
from decimal import Decimal

# Activation ids: the document says "id integer" and its example is 234242; sibling
# providers send digits too. Activation.provider_activation_id is CharField(64).
MAX_ACTIVATION_ID_LENGTH = 64
# Phones: digits with an optional leading "+". E.164 numbers have at most 15 digits; 20
# leaves room for a provider's odd prefix and stays well under Activation.phone's 32.
MAX_PHONE_DIGITS = 20
# STATUS_OK:<code> and STATUS_WAIT_RETRY:<code>: printable, at most this many characters.
MAX_CODE_LENGTH = 100
# Catalog columns: Country.name CharField(100), Operator.code CharField(64),
# Service.code CharField(32), Service.name CharField(200), Country.external_id IntegerField.
MAX_COUNTRY_NAME_LENGTH = 100
MAX_OPERATOR_CODE_LENGTH = 64
MAX_SERVICE_CODE_LENGTH = 32
MAX_SERVICE_NAME_LENGTH = 200
MAX_COUNTRY_ID = 2**31 - 1
# Prices and balances: DecimalField(max_digits=12, decimal_places=2), so at most 10 digits
# before the point. More than 2 decimal places are rounded half-up to cents. Prices are
# never negative (a negative price would lower the month's spend); a balance may be (some
# providers give credit).
MAX_AMOUNT_INTEGER_DIGITS = 10
CENT = Decimal("0.01")
# Offer.quantity is a PositiveIntegerField; no provider has a billion numbers in stock.
MAX_QUANTITY = 10**9
# The document's answers nest 3 deep (list, country, operators). Checked before parsing,
# so a deeply nested answer never reaches json.loads's recursion.
MAX_JSON_DEPTH = 16
# Copies of an answer that leave the client: ProtocolError.raw, Banned.until,
# Exchange.answer (the audit row), and the row names in Listing.problems.
RAW_LIMIT = 200
BAN_TEXT_LIMIT = 100
ANSWER_LIMIT = 2000
ROW_NAME_LIMIT = 40
# A catalog answer lists at most this many problems, then one line counting the rest.
MAX_LISTED_PROBLEMS = 100

# Control characters (C0 but tab, newline and carriage return; DEL; C1) and lone surrogates
# (a JSON "\ud800" escape): PostgreSQL text and jsonb refuse NUL and cannot encode surrogates.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# In a code, a name or an id, tab and newlines are not welcome either.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def storable(text: str, limit: int) -> str:
    """`text` truncated to `limit` characters with unstorable characters replaced by U+FFFD.
    Scrub the key first: truncating before scrubbing could leave half a key."""
    return _UNSTORABLE.sub("\ufffd", text[:limit])


def is_printable(text: str) -> bool:
    return _UNPRINTABLE.search(text) is None
