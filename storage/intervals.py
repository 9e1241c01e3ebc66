"""Evaluation intervals (`monatlich`, `quartalsweise`, … or a number of weeks) and date math."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from typing import Literal

# Canonical German name -> months; English and ASCII spellings map onto them.
_MONTHS = {"monatlich": 1, "quartalsweise": 3, "halbjährlich": 6, "jährlich": 12}
_SPELLINGS = {
    "monatlich": "monatlich",
    "monthly": "monatlich",
    "quartalsweise": "quartalsweise",
    "quartal": "quartalsweise",
    "quarterly": "quartalsweise",
    "vierteljährlich": "quartalsweise",
    "halbjährlich": "halbjährlich",
    "halbjaehrlich": "halbjährlich",
    "half-yearly": "halbjährlich",
    "halfyearly": "halbjährlich",
    "semiannual": "halbjährlich",
    "jährlich": "jährlich",
    "jaehrlich": "jährlich",
    "yearly": "jährlich",
    "annual": "jährlich",
    "annually": "jährlich",
}
_WEEKS = re.compile(r"^(\d{1,2})\s*(wochen|woche|weeks|week|w)$")

DEFAULT_INTERVAL = "quartalsweise"


def parse_interval(text: str) -> str | None:
    """The canonical interval for what a person typed, or None if it is not one."""
    value = " ".join(text.casefold().split())
    if value in _SPELLINGS:
        return _SPELLINGS[value]
    weeks = _WEEKS.match(value)
    if weeks and 1 <= int(weeks.group(1)) <= 104:
        return f"{int(weeks.group(1))} Wochen"
    return None


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def interval_length(interval: str) -> tuple[int, Literal["months", "weeks"]] | None:
    """`quartalsweise` as (3, "months"), `6 Wochen` as (6, "weeks"); None for no interval.

    Storage keeps the canonical German form; how a reply names it is the catalogue's
    (`intervals.*`, handlers/i18n.interval_name).
    """
    canonical = parse_interval(interval)
    if canonical is None:
        return None
    if canonical in _MONTHS:
        return _MONTHS[canonical], "months"
    return int(canonical.split()[0]), "weeks"


def add_interval(day: date, interval: str) -> date:
    """The day one evaluation interval after `day`."""
    canonical = parse_interval(interval) or DEFAULT_INTERVAL
    if canonical in _MONTHS:
        return add_months(day, _MONTHS[canonical])
    return day + timedelta(weeks=int(canonical.split()[0]))
