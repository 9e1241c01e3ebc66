"""Dates in command arguments: German and English forms, relative to an injected today."""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from enum import Enum

from storage.limits import EARLIEST, LATEST, in_range

# The longest explicit forms ("end of march 2028", "end of the month") have four words.
MAX_WORDS = 4

# Only short texts go to dateparser: a date is a few words, and dateparser gets slow and
# inventive on long free text.
_MAX_FALLBACK_CHARS = 40

_MONTHS: dict[str, int] = {
    "januar": 1, "jänner": 1, "jaenner": 1, "january": 1, "jan": 1,
    "februar": 2, "feber": 2, "february": 2, "feb": 2,
    "märz": 3, "maerz": 3, "march": 3, "mär": 3, "maer": 3, "mrz": 3, "mar": 3,
    "april": 4, "apr": 4,
    "mai": 5, "may": 5,
    "juni": 6, "june": 6, "jun": 6,
    "juli": 7, "july": 7, "jul": 7,
    "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9,
    "oktober": 10, "october": 10, "okt": 10, "oct": 10,
    "november": 11, "nov": 11,
    "dezember": 12, "december": 12, "dez": 12, "dec": 12,
}  # fmt: skip

_WEEKDAYS: dict[str, int] = {
    "montag": 0, "monday": 0,
    "dienstag": 1, "tuesday": 1,
    "mittwoch": 2, "wednesday": 2,
    "donnerstag": 3, "thursday": 3,
    "freitag": 4, "friday": 4,
    "samstag": 5, "sonnabend": 5, "saturday": 5,
    "sonntag": 6, "sunday": 6,
}  # fmt: skip

# "in einer Woche", "in a week": the article counts as one.
_NUMBER_WORDS: dict[str, int] = {
    "ein": 1, "eine": 1, "einem": 1, "einer": 1, "einen": 1, "eins": 1,
    "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "fuenf": 5, "sechs": 6, "sieben": 7,
    "acht": 8, "neun": 9, "zehn": 10, "elf": 11, "zwölf": 12, "zwoelf": 12,
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip

# Unit word -> (days per unit, months per unit).
_UNITS: dict[str, tuple[int, int]] = {
    "tag": (1, 0), "tage": (1, 0), "tagen": (1, 0), "day": (1, 0), "days": (1, 0),
    "woche": (7, 0), "wochen": (7, 0), "week": (7, 0), "weeks": (7, 0),
    "monat": (0, 1), "monate": (0, 1), "monaten": (0, 1), "month": (0, 1), "months": (0, 1),
    "jahr": (0, 12), "jahre": (0, 12), "jahren": (0, 12), "year": (0, 12), "years": (0, 12),
}  # fmt: skip


def _alternation(words: Sequence[str]) -> str:
    # Longest first, so "märz" is tried before "mär" and "sept" before "sep".
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_MONTH_NAMES = _alternation(list(_MONTHS))
_MON = rf"({_MONTH_NAMES})\.?"
_WEEKDAY_NAMES = _alternation(list(_WEEKDAYS))
_WD = rf"({_WEEKDAY_NAMES})"
_END = r"(?:ende|end of(?: the)?)"
_NEXT = r"(?:nächste[nmr]?|naechste[nmr]?|kommende[nmr]?|next|coming)"
# A year after a space must have four digits, so "31. März 27 Tage" keeps its "27".
_SPACED_YEAR = r"(?: (\d{4}))?"


class _Miss(Enum):
    """The text has none of the explicit shapes (None means: right shape, but no such day)."""

    MISS = "miss"


_Result = date | None | _Miss
_Parser = Callable[[re.Match[str], date], date | None]


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _year(digits: str) -> int:
    # Two-digit years are this century: nobody plans a measure for 1927.
    return 2000 + int(digits) if len(digits) == 2 else int(digits)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(start: date, months: int) -> date:
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def _next_day_month(day: int, month: int, today: date) -> date | None:
    # Nine years reach the next 29 February even across 2100, which is no leap year.
    for year in range(today.year, today.year + 9):
        found = _make(year, month, day)
        if found is not None and found >= today:
            return found
    return None


def _next_month_end(month: int, today: date) -> date:
    end = _month_end(today.year, month)
    return end if end >= today else _month_end(today.year + 1, month)


def _month_end_in(month: int, year: str | None, today: date) -> date | None:
    if year is None:
        return _next_month_end(month, today)
    try:
        return _month_end(_year(year), month)
    except ValueError:  # year 0 or beyond 9999
        return None


def _iso(m: re.Match[str], today: date) -> date | None:
    return _make(int(m[1]), int(m[2]), int(m[3]))


def _day_month_year(m: re.Match[str], today: date) -> date | None:
    return _make(_year(m[3].strip()), int(m[2]), int(m[1]))


def _day_month(m: re.Match[str], today: date) -> date | None:
    return _next_day_month(int(m[1]), int(m[2]), today)


def _relative(m: re.Match[str], today: date) -> date | None:
    count = int(m[1]) if m[1].isdigit() else _NUMBER_WORDS.get(m[1])
    if count is None:
        return None
    days, months = _UNITS[m[2]]
    try:
        return _add_months(today, count * months) + timedelta(days=count * days)
    except (ValueError, OverflowError):  # "in 99999 Jahren" is past date.max
        return None


def _end_of_month_name(m: re.Match[str], today: date) -> date | None:
    return _month_end_in(_MONTHS[m[1]], m[2], today)


def _end_of_year(m: re.Match[str], today: date) -> date | None:
    return _make(int(m[1]), 12, 31)


def _quarter_end(quarter: str, year: str | None, today: date) -> date | None:
    number = int(quarter)
    return _month_end_in(3 * number, year, today) if 1 <= number <= 4 else None


def _quarter(m: re.Match[str], today: date) -> date | None:
    return _quarter_end(m[1], m[2] or m[3], today)


def _year_quarter(m: re.Match[str], today: date) -> date | None:
    return _quarter_end(m[2], m[1], today)


def _weekday(m: re.Match[str], today: date) -> date | None:
    # Always strictly after today: "Freitag" said on a Friday means next week's.
    ahead = (_WEEKDAYS[m[1]] - today.weekday() - 1) % 7 + 1
    return today + timedelta(days=ahead)


def _named_month_date(day: str, month: str, year: str | None, today: date) -> date | None:
    if year is None:
        return _next_day_month(int(day), _MONTHS[month], today)
    return _make(_year(year), _MONTHS[month], int(day))


def _day_name_month(m: re.Match[str], today: date) -> date | None:
    return _named_month_date(m[1], m[2], m[3], today)


def _name_day_month(m: re.Match[str], today: date) -> date | None:
    return _named_month_date(m[2], m[1], m[3], today)


def _tomorrow(today: date) -> date:
    return today + timedelta(days=1)


def _day_after_tomorrow(today: date) -> date:
    return today + timedelta(days=2)


def _yesterday(today: date) -> date:
    return today - timedelta(days=1)


def _this_month_end(today: date) -> date:
    return _month_end(today.year, today.month)


def _this_week_end(today: date) -> date:
    # The working week ends on Friday; on a weekend that is the coming one.
    return today + timedelta(days=(4 - today.weekday()) % 7)


def _next_monday(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())


def _this_year_end(today: date) -> date:
    return date(today.year, 12, 31)


def _same_day(today: date) -> date:
    return today


_KEYWORDS: dict[str, Callable[[date], date]] = {
    **dict.fromkeys(("heute", "today"), _same_day),
    **dict.fromkeys(("morgen", "tomorrow"), _tomorrow),
    **dict.fromkeys(("übermorgen", "uebermorgen", "day after tomorrow"), _day_after_tomorrow),
    **dict.fromkeys(("gestern", "yesterday"), _yesterday),
    **dict.fromkeys(
        ("ende des monats", "ende dieses monats", "monatsende", "end of month",
         "end of the month", "end of this month"),
        _this_month_end,
    ),
    **dict.fromkeys(
        ("ende der woche", "ende dieser woche", "end of week", "end of the week",
         "end of this week"),
        _this_week_end,
    ),
    **dict.fromkeys(
        ("nächste woche", "naechste woche", "kommende woche", "next week"), _next_monday
    ),
    **dict.fromkeys(
        ("ende des jahres", "ende dieses jahres", "jahresende", "end of year",
         "end of the year", "end of this year"),
        _this_year_end,
    ),
}  # fmt: skip

_PARSERS: list[tuple[re.Pattern[str], _Parser]] = [
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"), _iso),
    # "31.03.2027", "31.3.27", and the typeset "31. 3. 2027".
    (re.compile(r"(\d{1,2})\. ?(\d{1,2})\.(\d{4}|\d{2}| \d{4})"), _day_month_year),
    (re.compile(r"(\d{1,2})\. ?(\d{1,2})\."), _day_month),
    (re.compile(rf"in (\w+) ({_alternation(list(_UNITS))})"), _relative),
    (re.compile(rf"{_END} {_MON}{_SPACED_YEAR}"), _end_of_month_name),
    (re.compile(rf"{_END} (\d{{4}})"), _end_of_year),
    # "Ende Q2", "Q2/2027", "Q2 2027", "Q2-27"; a quarter number other than 1-4 is no date.
    (re.compile(rf"(?:{_END} )?q(\d)(?:[/-](\d{{4}}|\d{{2}})| (\d{{4}}))?"), _quarter),
    (re.compile(r"(\d{4}) ?[/-]? ?q(\d)"), _year_quarter),
    (re.compile(rf"(?:(?:am|on) )?(?:{_NEXT} )?{_WD}"), _weekday),
    # "31. März 2027", "31 march", "31st of March 2027".
    (
        re.compile(rf"(\d{{1,2}})(?:\.|st|nd|rd|th)? ?(?:of )?({_MONTH_NAMES})\.?,?{_SPACED_YEAR}"),
        _day_name_month,
    ),
    # "March 31, 2027", "march 31st".
    (
        re.compile(rf"({_MONTH_NAMES})\.? (\d{{1,2}})(?:st|nd|rd|th|\.)?(?:,? (\d{{4}}))?"),
        _name_day_month,
    ),
]

# The fallback may only see texts with a real date signal, so that "30", "70%", "M-12" or
# "Träger" never turn into a day. A dash needs three parts: "3-4" is a range, not 3 April.
_SEPARATED_DIGITS = re.compile(r"\d[./]\d|\d-\d+-\d")
_DATE_WORD = re.compile(rf"\b(?:{_MONTH_NAMES}|{_WEEKDAY_NAMES})\b")
# Words the fallback may span in take_date: numbers, month and weekday names, fillers. Anything
# else ("und", "14:00", "Träger") ends the run, because dateparser silently skips some words.
_FALLBACK_WORD = re.compile(
    rf"(?:\d{{1,4}}(?:[./-]\d{{1,4}}){{0,2}}\.?|\d{{1,2}}(?:st|nd|rd|th)"
    rf"|{_MONTH_NAMES}\.?|{_WEEKDAY_NAMES}|of|the|den|der|am|on),?"
)


def _normalize(text: str) -> str:
    # NFC because some keyboards send "ä" as "a" plus a combining diaeresis.
    folded = unicodedata.normalize("NFC", text).lower()
    return " ".join(folded.split()).rstrip(",;")


def _explicit(text: str, today: date) -> _Result:
    keyword = _KEYWORDS.get(text)
    if keyword is not None:
        return keyword(today)
    for pattern, parser in _PARSERS:
        match = pattern.fullmatch(text)
        if match is not None:
            return parser(match, today)
    return _Miss.MISS


def _fallback(text: str, today: date) -> date | None:
    if len(text) > _MAX_FALLBACK_CHARS:
        return None
    if _SEPARATED_DIGITS.search(text) is None and _DATE_WORD.search(text) is None:
        return None
    # Imported here: dateparser takes noticeable time to load, and most dates never need it.
    # unused-ignore: with types-dateparser installed the ignore is not needed.
    import dateparser  # type: ignore[import-untyped, unused-ignore]

    try:
        parsed = dateparser.parse(
            text,
            languages=["de", "en"],
            settings={
                "PREFER_DATES_FROM": "future",
                "DATE_ORDER": "DMY",
                "RELATIVE_BASE": datetime(today.year, today.month, today.day),
                # A month name alone or "März 2027" is no day.
                "REQUIRE_PARTS": ["day", "month"],
                # No timestamp or digits-only parsers: ids and amounts must stay numbers.
                "PARSERS": ["relative-time", "absolute-time"],
            },
        )
    except (ValueError, OverflowError):
        return None
    return parsed.date() if isinstance(parsed, datetime) else None


class DateOutOfRange(ValueError):
    """A real date outside the years the program plans in (storage/limits.py): `31.12.9999`
    is a typo, and the reminder arithmetic would overflow on it."""

    def __init__(self, text: str, value: date) -> None:
        super().__init__(f"{text!r}: {value.isoformat()} is not between {EARLIEST} and {LATEST}")
        self.text = text
        self.value = value


def _checked(text: str, value: date | None) -> date | None:
    if value is not None and not in_range(value):
        raise DateOutOfRange(text, value)
    return value


def parse_date(text: str, today: date) -> date | None:
    """Parse one whole date expression (German or English); None if it is not a date.
    Raises DateOutOfRange for a date before 2000 or after 2100."""
    normalized = _normalize(text)
    if not normalized:
        return None
    result = _explicit(normalized, today)
    if not isinstance(result, _Miss):
        return _checked(text, result)
    return _checked(text, _fallback(normalized, today))


def take_date(words: Sequence[str], today: date) -> tuple[date, int] | None:
    """Find the longest run of leading words (at most 4) that parses as a date.

    Returns (date, number of words used), or None if the first word starts no date.
    Raises DateOutOfRange for a date before 2000 or after 2100.
    """
    run = list(words[:MAX_WORDS])
    if not run or not _normalize(run[0]):
        return None
    shaped = False
    for count in range(len(run), 0, -1):
        result = _explicit(_normalize(" ".join(run[:count])), today)
        if isinstance(result, date):
            return _checked(" ".join(run[:count]), result) or result, count
        shaped = shaped or result is None
    # A prefix shaped like an explicit date but naming no real day ("31.02.2027") is an
    # error, not a cue to let dateparser guess something else.
    if shaped:
        return None
    usable = 0
    while usable < len(run) and _FALLBACK_WORD.fullmatch(_normalize(run[usable])):
        usable += 1
    for count in range(usable, 0, -1):
        found = _fallback(_normalize(" ".join(run[:count])), today)
        if found is not None:
            return _checked(" ".join(run[:count]), found) or found, count
    return None
