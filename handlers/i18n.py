"""Reply texts in German and English, and the formatting of dates, statuses and numbers.

Every text a person reads is in the catalogue, one file per language: handlers/texts/de.toml
and handlers/texts/en.toml, read once at import. A text is named by its key, grouped by the
module that uses it (`measures.created_heading`); placeholders are str.format fields
(`{measure}`). tests/test_catalogue.py checks that both languages have the same keys and
placeholders, that every key is used, and that no module beside it holds a reply text.
See docs/architecture.md, "Reply texts".
"""

from __future__ import annotations

import tomllib
from datetime import date
from importlib.resources import files

from handlers.core import Language
from storage.intervals import interval_length
from storage.models import MeasureStatus
from storage.reach import Reason, Unreachable

LANGUAGES: tuple[Language, ...] = ("de", "en")
# A language without a catalogue of its own reads English (as before: anything not German).
FALLBACK: Language = "en"


def _flatten(table: dict[str, object], prefix: str = "") -> dict[str, str]:
    """`[measures]` / `created_heading = "…"` as `measures.created_heading`."""
    flat: dict[str, str] = {}
    for name, value in table.items():
        key = prefix + name
        if isinstance(value, dict):
            flat.update(_flatten(value, key + "."))
        elif isinstance(value, str):
            flat[key] = value
        else:
            raise ValueError(f"{key}: a text must be a string, not {type(value).__name__}")
    return flat


def load_texts(lang: str) -> dict[str, str]:
    """The catalogue of one language, as key -> text."""
    source = files("handlers").joinpath("texts", f"{lang}.toml").read_text(encoding="utf-8")
    return _flatten(tomllib.loads(source))


TEXTS: dict[str, dict[str, str]] = {lang: load_texts(lang) for lang in LANGUAGES}


def t(lang: str, key: str, /, **values: object) -> str:
    """The text `key` in `lang`, its placeholders filled in from `values`."""
    return TEXTS.get(lang, TEXTS[FALLBACK])[key].format(**values)


def plural(lang: str, key: str, n: int, /, **values: object) -> str:
    """`key.one` for exactly one, `key.other` otherwise; `{n}` is the number."""
    return t(lang, f"{key}.one" if n == 1 else f"{key}.other", n=n, **values)


def bilingual(key: str, /, **values: object) -> str:
    """The text `key` in every language, German first (`… / …`): for a reader whose language
    is not known, such as a Telegram group the bot leaves."""
    return " / ".join(t(lang, key, **values) for lang in LANGUAGES)


STATUS_MARKERS: dict[MeasureStatus, str] = {
    MeasureStatus.PLANNED: "⚪",
    MeasureStatus.IN_PROGRESS: "🟢",
    MeasureStatus.DELAYED: "🟡",
    MeasureStatus.AT_RISK: "🔴",
    MeasureStatus.DONE: "✅",
    MeasureStatus.CANCELLED: "⚫",
}

STATUS_KEYS: dict[MeasureStatus, str] = {
    MeasureStatus.PLANNED: "status_names.planned",
    MeasureStatus.IN_PROGRESS: "status_names.in_progress",
    MeasureStatus.DELAYED: "status_names.delayed",
    MeasureStatus.AT_RISK: "status_names.at_risk",
    MeasureStatus.DONE: "status_names.done",
    MeasureStatus.CANCELLED: "status_names.cancelled",
}

# Every spelling a person may type for a status, folded to ASCII lower case.
STATUS_WORDS: dict[str, MeasureStatus] = {
    "geplant": MeasureStatus.PLANNED,
    "planned": MeasureStatus.PLANNED,
    "laufend": MeasureStatus.IN_PROGRESS,
    "läuft": MeasureStatus.IN_PROGRESS,
    "in_progress": MeasureStatus.IN_PROGRESS,
    "running": MeasureStatus.IN_PROGRESS,
    "ontrack": MeasureStatus.IN_PROGRESS,
    "verzögert": MeasureStatus.DELAYED,
    "verzoegert": MeasureStatus.DELAYED,
    "delayed": MeasureStatus.DELAYED,
    "gefährdet": MeasureStatus.AT_RISK,
    "gefaehrdet": MeasureStatus.AT_RISK,
    "at_risk": MeasureStatus.AT_RISK,
    "atrisk": MeasureStatus.AT_RISK,
    "risk": MeasureStatus.AT_RISK,
    "erledigt": MeasureStatus.DONE,
    "fertig": MeasureStatus.DONE,
    "abgeschlossen": MeasureStatus.DONE,
    "done": MeasureStatus.DONE,
    "finished": MeasureStatus.DONE,
    "abgebrochen": MeasureStatus.CANCELLED,
    "cancelled": MeasureStatus.CANCELLED,
    "canceled": MeasureStatus.CANCELLED,
}

# The date format of each language (`formats.date`), looked up once: a Monday's reminders
# format ten thousand deadlines.
_DATE_FORMATS: dict[str, str] = {lang: TEXTS[lang]["formats.date"] for lang in LANGUAGES}


def status_name(status: MeasureStatus, lang: str) -> str:
    return t(lang, STATUS_KEYS[status])


def fmt_date(value: date | None, lang: str) -> str:
    """`31.03.2027` in German, `2027-03-31` in English; `–` for none."""
    if value is None:
        return "–"
    return _DATE_FORMATS.get(lang, _DATE_FORMATS[FALLBACK]).format(date=value)


def fmt_number(value: float, lang: str) -> str:
    """`27,8` in German, `27.8` in English; no trailing `.0`."""
    text = f"{value:g}"
    return text.replace(".", t(lang, "formats.decimal_separator"))


def days(n: int, lang: str) -> str:
    """`1 Tag`, `14 Tage`; `1 day`, `14 days`."""
    return plural(lang, "common.days", n)


_INTERVAL_KEYS: dict[int, str] = {
    1: "intervals.monthly",
    3: "intervals.quarterly",
    6: "intervals.half_yearly",
    12: "intervals.yearly",
}


def interval_name(interval: str, lang: str) -> str:
    """A stored evaluation interval as the replies name it: `quartalsweise` / `quarterly`,
    `6 Wochen` / `6 weeks`; what is no interval as it is stored."""
    length = interval_length(interval)
    if length is None:
        return interval
    count, unit = length
    if unit == "months" and count in _INTERVAL_KEYS:
        return t(lang, _INTERVAL_KEYS[count])
    if unit == "weeks":
        return plural(lang, "intervals.weeks", count)
    return interval


REACH_KEYS: dict[Reason, str] = {
    Reason.NO_CHAT_ID: "reach.no_chat_id",
    Reason.NO_CHAT_ID_NOR_EMAIL: "reach.no_chat_id_nor_email",
    Reason.NO_ROOM: "reach.no_room",
    Reason.NO_COORDINATION_ROOM: "reach.no_coordination_room",
}


def reach_reason(reason: Reason, lang: str) -> str:
    """Why no message reaches a recipient (`keine Chat-Kennung`)."""
    return t(lang, REACH_KEYS[reason])


def unreachable_line(who: Unreachable, lang: str) -> str:
    """`Jens Jugend: keine Chat-Kennung`, `Koordination: kein Koordinationsraum (…)`."""
    name = t(lang, "reach.coordination") if who.name is None else who.name
    return t(lang, "reach.line", name=name, reason=reach_reason(who.reason, lang))
