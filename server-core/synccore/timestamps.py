"""Sync timestamps: seconds with exactly two decimals, kept as integer centiseconds.

Integers keep comparisons exact; the wire format is produced from them
directly so a float serializer can never drop the trailing zero.
"""
from __future__ import annotations

import time
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

CENTI = Decimal("0.01")


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

    Raises ValueError for anything that is not a finite decimal number.
    """
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise ValueError(f"not a decimal number: {text!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    return int(value.quantize(CENTI, ROUND_HALF_EVEN) * 100)
