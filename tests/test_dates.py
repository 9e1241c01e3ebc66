"""Tests for handlers.dates: explicit German and English forms, the fallback and take_date."""

from __future__ import annotations

from datetime import date

import pytest

from handlers import dates
from handlers.dates import parse_date, take_date

# A Friday, late in the year, so that rollover into next year shows.
TODAY = date(2026, 11, 27)

EXPLICIT: list[tuple[str, date]] = [
    # numeric
    ("2027-03-31", date(2027, 3, 31)),
    ("2027-3-31", date(2027, 3, 31)),
    ("31.03.2027", date(2027, 3, 31)),
    ("31.3.2027", date(2027, 3, 31)),
    ("31.03.27", date(2027, 3, 31)),
    ("31. 3. 2027", date(2027, 3, 31)),
    # day.month. without a year: the next such day on or after today
    ("31.3.", date(2027, 3, 31)),
    ("31.03.", date(2027, 3, 31)),
    ("27.11.", date(2026, 11, 27)),
    ("26.11.", date(2027, 11, 26)),
    ("1.12.", date(2026, 12, 1)),
    ("29.2.", date(2028, 2, 29)),
    # keywords
    ("heute", TODAY),
    ("Today", TODAY),
    ("morgen", date(2026, 11, 28)),
    ("tomorrow", date(2026, 11, 28)),
    ("übermorgen", date(2026, 11, 29)),
    ("Übermorgen", date(2026, 11, 29)),
    ("uebermorgen", date(2026, 11, 29)),
    ("gestern", date(2026, 11, 26)),
    # in N units
    ("in 2 Wochen", date(2026, 12, 11)),
    ("in 3 Tagen", date(2026, 11, 30)),
    ("in 1 Monat", date(2026, 12, 27)),
    ("in 2 Monaten", date(2027, 1, 27)),
    ("in einer Woche", date(2026, 12, 4)),
    ("in zwei Wochen", date(2026, 12, 11)),
    ("in zwölf Tagen", date(2026, 12, 9)),
    ("in einem Jahr", date(2027, 11, 27)),
    ("In 2 weeks", date(2026, 12, 11)),
    ("in 3 days", date(2026, 11, 30)),
    ("in 1 month", date(2026, 12, 27)),
    ("in a week", date(2026, 12, 4)),
    ("in two weeks", date(2026, 12, 11)),
    # end of a named month
    ("Ende März", date(2027, 3, 31)),
    ("Ende Maerz", date(2027, 3, 31)),
    ("Ende Mär", date(2027, 3, 31)),
    ("Ende Mär.", date(2027, 3, 31)),
    ("Ende Maerz 2028", date(2028, 3, 31)),
    ("Ende März 2028", date(2028, 3, 31)),
    ("Ende Februar 2028", date(2028, 2, 29)),
    ("end of March", date(2027, 3, 31)),
    ("end of march 2028", date(2028, 3, 31)),
    ("end of Mar", date(2027, 3, 31)),
    ("Ende November", date(2026, 11, 30)),
    ("Ende Dezember", date(2026, 12, 31)),
    ("Ende Oktober", date(2027, 10, 31)),
    # quarters
    ("Ende Q2", date(2027, 6, 30)),
    ("Q2/2027", date(2027, 6, 30)),
    ("Q2 2027", date(2027, 6, 30)),
    ("2027-Q2", date(2027, 6, 30)),
    ("Q1/27", date(2027, 3, 31)),
    ("Q2", date(2027, 6, 30)),
    ("q4", date(2026, 12, 31)),
    ("Q3", date(2027, 9, 30)),
    ("Ende Q4 2026", date(2026, 12, 31)),
    ("end of Q3", date(2027, 9, 30)),
    # ends of year, month, week; next week
    ("Ende 2027", date(2027, 12, 31)),
    ("end of 2027", date(2027, 12, 31)),
    ("Jahresende", date(2026, 12, 31)),
    ("Ende des Monats", date(2026, 11, 30)),
    ("Monatsende", date(2026, 11, 30)),
    ("end of month", date(2026, 11, 30)),
    ("end of the month", date(2026, 11, 30)),
    ("Ende der Woche", TODAY),
    ("end of week", TODAY),
    ("nächste Woche", date(2026, 11, 30)),
    ("naechste Woche", date(2026, 11, 30)),
    ("next week", date(2026, 11, 30)),
    # weekdays: strictly after today
    ("Montag", date(2026, 11, 30)),
    ("Dienstag", date(2026, 12, 1)),
    ("Mittwoch", date(2026, 12, 2)),
    ("Donnerstag", date(2026, 12, 3)),
    ("Freitag", date(2026, 12, 4)),
    ("Samstag", date(2026, 11, 28)),
    ("Sonntag", date(2026, 11, 29)),
    ("Monday", date(2026, 11, 30)),
    ("tuesday", date(2026, 12, 1)),
    ("Wednesday", date(2026, 12, 2)),
    ("Thursday", date(2026, 12, 3)),
    ("Friday", date(2026, 12, 4)),
    ("Saturday", date(2026, 11, 28)),
    ("Sunday", date(2026, 11, 29)),
    ("nächsten Freitag", date(2026, 12, 4)),
    ("next friday", date(2026, 12, 4)),
    ("am Montag", date(2026, 11, 30)),
    # month names with day
    ("31. März 2027", date(2027, 3, 31)),
    ("31 March 2027", date(2027, 3, 31)),
    ("March 31, 2027", date(2027, 3, 31)),
    ("march 31 2027", date(2027, 3, 31)),
    ("31st of March 2027", date(2027, 3, 31)),
    ("1. Jänner 2027", date(2027, 1, 1)),
    ("15. Okt. 2027", date(2027, 10, 15)),
    ("3. Sept 2027", date(2027, 9, 3)),
    ("24. Dezember", date(2026, 12, 24)),
    ("Dec 24", date(2026, 12, 24)),
    ("5 June", date(2027, 6, 5)),
    ("31. Mai 2027", date(2027, 5, 31)),
    # spacing and case are not significant
    ("  ENDE   MÄRZ ", date(2027, 3, 31)),
]


@pytest.mark.parametrize(("text", "expected"), EXPLICIT)
def test_explicit_forms(text: str, expected: date) -> None:
    assert parse_date(text, TODAY) == expected


@pytest.mark.parametrize(("text", "_expected"), EXPLICIT)
def test_explicit_forms_never_reach_dateparser(
    text: str, _expected: date, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The explicit forms must stay fast: none of them may load or call dateparser.
    def refuse(text: str, today: date) -> date | None:
        raise AssertionError(f"fallback used for {text!r}")

    monkeypatch.setattr(dates, "_fallback", refuse)
    assert parse_date(text, TODAY) is not None


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        # calendar months clamp to the month end
        ("in 1 Monat", date(2027, 1, 31), date(2027, 2, 28)),
        ("in 1 month", date(2028, 1, 31), date(2028, 2, 29)),
        ("in 3 Monaten", date(2026, 11, 30), date(2027, 2, 28)),
        ("in 2 Wochen", date(2026, 12, 25), date(2027, 1, 8)),
        # a quarter or month end that is today still counts
        ("Q4", date(2026, 12, 31), date(2026, 12, 31)),
        ("Ende Dezember", date(2026, 12, 31), date(2026, 12, 31)),
        ("Q4", date(2027, 1, 1), date(2027, 12, 31)),
        ("31.12.", date(2026, 12, 31), date(2026, 12, 31)),
        ("1.1.", date(2026, 12, 31), date(2027, 1, 1)),
        # end of week on a weekend is the coming Friday; mid-week it is this one
        ("Ende der Woche", date(2026, 11, 28), date(2026, 12, 4)),
        ("end of week", date(2026, 11, 23), date(2026, 11, 27)),
        # next week from Sunday and from Monday
        ("nächste Woche", date(2026, 11, 29), date(2026, 11, 30)),
        ("next week", date(2026, 11, 30), date(2026, 12, 7)),
        ("Ende des Monats", date(2027, 2, 1), date(2027, 2, 28)),
        ("Montag", date(2026, 11, 30), date(2026, 12, 7)),
    ],
)
def test_relative_to_other_days(text: str, today: date, expected: date) -> None:
    assert parse_date(text, today) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("31/03/2027", date(2027, 3, 31)),
        ("31-03-2027", date(2027, 3, 31)),
        ("2027/03/31", date(2027, 3, 31)),
        ("April 5th", date(2027, 4, 5)),
    ],
)
def test_fallback_forms(text: str, expected: date) -> None:
    assert parse_date(text, TODAY) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "70%",
        "30",
        "2027",
        "M-12",
        "3-4",
        "Träger gefunden",
        "Träger",
        "Begründung",
        "Jan",
        "März 2027",
        "14:00",
        "Ende",
        "in 2",
        "in vielen Wochen",
        # invalid days are None, not an exception and not a dateparser guess
        "31.02.2027",
        "32.1.",
        "0.0.",
        "2027-13-01",
        "2027-02-30",
        "31.04.27",
        "30. Februar 2027",
        "Feb 30, 2027",
        "Q5",
        "Q0/2027",
        "99999999999.9.9",
        "in 99999999 Jahren",
        "ein sehr langer Text mit Freitag und vielen anderen Wörtern darin",
    ],
)
def test_not_a_date(text: str) -> None:
    assert parse_date(text, TODAY) is None


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["in", "2", "Wochen", "Träger", "verspätet"], (date(2026, 12, 11), 3)),
        (["Ende", "März", "wegen", "X"], (date(2027, 3, 31), 2)),
        (["31.3.", "Begründung"], (date(2027, 3, 31), 1)),
        (["Begründung"], None),
        ([], None),
        ([""], None),
        (["Ende", "Maerz", "2028", "Verzug"], (date(2028, 3, 31), 3)),
        (["end", "of", "march", "2028", "delay"], (date(2028, 3, 31), 4)),
        (["end", "of", "the", "month"], (date(2026, 11, 30), 4)),
        (["March", "31,", "2027", "Träger"], (date(2027, 3, 31), 3)),
        (["31.", "März", "2027"], (date(2027, 3, 31), 3)),
        (["in", "einer", "Woche", "Träger"], (date(2026, 12, 4), 3)),
        (["nächsten", "Freitag", "wegen"], (date(2026, 12, 4), 2)),
        (["Q2", "2027", "Verzug"], (date(2027, 6, 30), 2)),
        (["Freitag", "14:00", "Sitzung"], (date(2026, 12, 4), 1)),
        (["morgen", "früh"], (date(2026, 11, 28), 1)),
        (["Ende", "des", "Monats", "bitte"], (date(2026, 11, 30), 3)),
        # the fallback must not swallow the words after the date
        (["31/03/2027", "und", "mehr"], (date(2027, 3, 31), 1)),
        (["31/03/2027", "14:00", "Titel"], (date(2027, 3, 31), 1)),
        # not dates
        (["30", "Tage"], None),
        (["3-4", "Wochen"], None),
        (["70%", "Träger", "gefunden"], None),
        (["M-12", "31.3."], None),
        (["31.02.2027", "Begründung"], None),
        (["2027-13-01"], None),
    ],
)
def test_take_date(words: list[str], expected: tuple[date, int] | None) -> None:
    assert take_date(words, TODAY) == expected


def test_take_date_reads_at_most_four_words() -> None:
    assert take_date(["in", "2", "Wochen", "x", "y", "z"], TODAY) == (date(2026, 12, 11), 3)
    assert take_date(("heute",), TODAY) == (TODAY, 1)
