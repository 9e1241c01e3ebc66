"""Reply texts in German and English, and the formatting of dates, statuses and measures."""

from __future__ import annotations

from datetime import date

from handlers.core import Language
from storage.models import MeasureStatus

STATUS_MARKERS: dict[MeasureStatus, str] = {
    MeasureStatus.PLANNED: "⚪",
    MeasureStatus.IN_PROGRESS: "🟢",
    MeasureStatus.DELAYED: "🟡",
    MeasureStatus.AT_RISK: "🔴",
    MeasureStatus.DONE: "✅",
    MeasureStatus.CANCELLED: "⚫",
}

STATUS_NAMES_EN: dict[MeasureStatus, str] = {
    MeasureStatus.PLANNED: "planned",
    MeasureStatus.IN_PROGRESS: "in progress",
    MeasureStatus.DELAYED: "delayed",
    MeasureStatus.AT_RISK: "at risk",
    MeasureStatus.DONE: "done",
    MeasureStatus.CANCELLED: "cancelled",
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


def status_name(status: MeasureStatus, lang: Language) -> str:
    return status.value if lang == "de" else STATUS_NAMES_EN[status]


def fmt_date(value: date | None, lang: Language) -> str:
    if value is None:
        return "–"
    return value.strftime("%d.%m.%Y") if lang == "de" else value.isoformat()


def fmt_number(value: float, lang: Language) -> str:
    """`27,8` in German, `27.8` in English; no trailing `.0`."""
    text = f"{value:g}"
    return text.replace(".", ",") if lang == "de" else text


def days(n: int, lang: Language) -> str:
    if lang == "de":
        return f"{n} Tag" if n == 1 else f"{n} Tage"
    return f"{n} day" if n == 1 else f"{n} days"


# Message catalogue: key -> (German, English). Placeholders use str.format.
MESSAGES: dict[str, tuple[str, str]] = {
    "unregistered": (
        "Sie sind noch nicht registriert. Ihre Chat-ID: {address}\n"
        "Bitte wenden Sie sich an {contacts}, damit Sie eingetragen werden.",
        "You are not registered yet. Your chat id: {address}\n"
        "Please ask {contacts} to register you.",
    ),
    "forbidden_admin_only": (
        "„{command}“ braucht eine registrierte Person{roles}. Sie sind Administration, aber "
        'nicht als Person registriert. Registrieren mit: person neu "<name>" '
        "rolle:koordination {address}",
        "“{command}” needs a registered person{roles}. You are an admin but not registered as "
        'a person. Register with: person add "<name>" role:koordination {address}',
    ),
    "with_role": (" mit der Rolle {roles}", " with the role {roles}"),
    "contacts_fallback": ("die Koordination (Administration)", "the coordination office (admin)"),
    "unknown_command": (
        "Den Befehl „{name}“ kenne ich nicht. Meinten Sie: {suggestions}?\nAlle Befehle: hilfe",
        "I don't know the command “{name}”. Did you mean: {suggestions}?\nAll commands: help",
    ),
    "unknown_command_plain": (
        "Den Befehl „{name}“ kenne ich nicht. Alle Befehle: hilfe",
        "I don't know the command “{name}”. All commands: help",
    ),
    "empty": ("Was kann ich tun? Alle Befehle: hilfe", "What can I do? All commands: help"),
    "forbidden": (
        "„{command}“ dürfen nur Personen mit der Rolle {roles}. Ihre Rolle: {role}.",
        "“{command}” needs the role {roles}. Your role: {role}.",
    ),
    "forbidden_scope": (
        "{what} — Ihr Ressort {department} ist an {measure} nicht beteiligt; das dürfen {roles}.",
        "{what} — your department {department} is not part of {measure}; only {roles} may do that.",
    ),
    "forbidden_lead": (
        "{what} — Ihr Ressort {department} ist an {measure} beteiligt, federführend ist "
        "{lead}; das dürfen {roles}.",
        "{what} — your department {department} takes part in {measure}, but {lead} leads it; "
        "only {roles} may do that.",
    ),
    "usage": ("Aufruf: {usage}\nBeispiel: {example}", "Usage: {usage}\nExample: {example}"),
    "usage_reason": (
        "{reason}\nAufruf: {usage}\nBeispiel: {example}",
        "{reason}\nUsage: {usage}\nExample: {example}",
    ),
    "not_found": (
        "„{text}“ habe ich nicht gefunden.",
        "I could not find “{text}”.",
    ),
    "not_found_suggest": (
        "„{text}“ habe ich nicht gefunden. Ähnlich: {suggestions}",
        "I could not find “{text}”. Similar: {suggestions}",
    ),
    "ambiguous": (
        "„{text}“ passt auf mehrere. Bitte mit der Nummer antworten:",
        "“{text}” matches several. Please reply with the number:",
    ),
    "ambiguous_more": (
        "… und {n} weitere — genauer eingrenzen",
        "… and {n} more — be more specific",
    ),
    "pick_invalid": (
        "Bitte eine Zahl von 1 bis {n} senden.",
        "Please send a number from 1 to {n}.",
    ),
    "internal_error": (
        "Entschuldigung, da ist etwas schiefgegangen (Fehler-ID {error_id}). "
        "Es wurde nichts geändert.",
        "Sorry, something went wrong (error id {error_id}). Nothing was changed.",
    ),
    "conflict": (
        "{measure} wurde geändert, seit diese Nachricht sie gezeigt hat (Version {shown} → "
        "{current}). Es wurde nichts geändert:",
        "{measure} has changed since this message showed it (version {shown} → {current}). "
        "Nothing was changed:",
    ),
    "more_lines": ("… und {n} weitere: {command}", "… and {n} more: {command}"),
}


def t(lang: Language, key: str, **values: object) -> str:
    german, english = MESSAGES[key]
    return (german if lang == "de" else english).format(**values)
