"""Sync timestamps: seconds with exactly two decimals, kept as integer centiseconds.

Integers keep comparisons exact; the wire format is produced from them
directly so a float serializer can never drop the trailing zero.
"""
from __future__ import annotations

import re
import time
from decimal import ROUND_HALF_EVEN, Decimal

CENTI = Decimal("0.01")
# Far beyond any real timestamp (year ~33658), far below 64-bit overflow.
MAX_SECONDS = Decimal(10**12)
# A plain decimal number: what clients may send as a timestamp or number.
DECIMAL_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def now_centis() -> int:
    """The current time in centiseconds, rounded half-even."""
    return int((Decimal(repr(time.time())).quantize(CENTI, ROUND_HALF_EVEN)) * 100)


def format_centis(centis: int) -> str:
    """``1278109839.96``, ``1278109840.00``: plain decimal, two fraction digits."""
    sign = "-" if centis < 0 else ""
    whole, frac = divmod(abs(centis), 100)
    return f"{sign}{whole}.{frac:02d}"


def parse_centis(text: str) -> int:
    """Parse a decimal number of seconds in any precision into centiseconds.

    Raises ValueError for anything that is not a plain decimal number
    (``1278109839.96``, ``-1``, ``1.5e9``; not ``nan``, ``1_0`` or non-ASCII
    digits) or whose magnitude is beyond ``MAX_SECONDS``: no real timestamp is
    that large, and such values would overflow database integers.
    """
    if not isinstance(text, str) or not DECIMAL_NUMBER.fullmatch(text.strip()):
        raise ValueError(f"not a decimal number: {text!r}")
    try:
        value = Decimal(text.strip())
        if abs(value) > MAX_SECONDS:
            raise ValueError(f"timestamp out of range: {text!r}")
        return int(value.quantize(CENTI, ROUND_HALF_EVEN) * 100)
    except ArithmeticError as exc:  # an exponent beyond what Decimal can represent
        raise ValueError(f"timestamp out of range: {text!r}") from exc
