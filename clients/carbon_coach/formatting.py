"""French number and month formatting, without depending on the host's locale settings."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["fr_number", "month_label", "month_short"]

_MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
_SHORT = (
    "janv.", "févr.", "mars", "avr.", "mai", "juin",
    "juil.", "août", "sept.", "oct.", "nov.", "déc.",
)  # fmt: skip
_THIN_SPACE = "\u202f"  # French groups thousands with a narrow no-break space


def fr_number(value: Decimal | float | int, digits: int = 0) -> str:
    """``1234.56`` → ``1 234,6`` (digits=1): comma decimal, grouped thousands."""
    quantum = Decimal(1).scaleb(-digits)
    rounded = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    text = f"{rounded:,.{digits}f}"
    return text.replace(",", _THIN_SPACE).replace(".", ",")


def month_label(month: date) -> str:
    return f"{_MONTHS[month.month - 1]} {month.year}"


def month_short(month: date) -> str:
    return _SHORT[month.month - 1]
