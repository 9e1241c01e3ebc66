"""Short, phone-sized lines for measures, goals and lists, shared by the handlers."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.context import Context
from handlers.core import Language, QuickAnswer
from handlers.i18n import STATUS_MARKERS, days, fmt_date, fmt_number, status_name, t
from handlers.monitoring import IndicatorTrack
from storage.models import Measure, MeasureStatus, Person, Role

LIST_LIMIT = 10


class _Keyed(Protocol):
    @property
    def key(self) -> str: ...


class MeasureShape(Protocol):
    """What a measure's line needs: a `Measure`, or a plain row read without the ORM (the
    reminder delivery reads ten thousand of them on a Monday)."""

    @property
    def ref(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def status(self) -> MeasureStatus: ...
    @property
    def progress(self) -> int: ...
    @property
    def deadline(self) -> date | None: ...
    @property
    def evaluation_due_on(self) -> date | None: ...
    @property
    def lead_department(self) -> _Keyed: ...


def is_overdue(measure: MeasureShape, today: date) -> bool:
    return (
        measure.deadline is not None and measure.deadline < today and not measure.status.is_closed
    )


def is_stale(measure: MeasureShape, today: date) -> bool:
    return (
        not measure.status.is_closed
        and measure.evaluation_due_on is not None
        and measure.evaluation_due_on < today
    )


def marker(measure: MeasureShape, today: date) -> str:
    return "🔴" if is_overdue(measure, today) else STATUS_MARKERS[measure.status]


def deadline_phrase(measure: MeasureShape, today: date, lang: Language) -> str:
    """`Frist 31.03.2027`, or `12 Tage überfällig` for an overdue measure."""
    if measure.deadline is None:
        return t(lang, "views.no_deadline")
    if is_overdue(measure, today):
        return t(lang, "views.overdue_by", days=days((today - measure.deadline).days, lang))
    return t(lang, "views.deadline", date=fmt_date(measure.deadline, lang))


def measure_line(measure: MeasureShape, today: date, lang: Language, *, lead: bool = True) -> str:
    """`🟢 M-12 Sprachförderung in Kitas — JA, 60 %, Frist 31.03.2027`."""
    parts = []
    if lead:
        parts.append(measure.lead_department.key)
    if not measure.status.is_closed:
        parts.append(f"{measure.progress} %")
    parts.append(deadline_phrase(measure, today, lang))
    return f"{marker(measure, today)} {measure.ref} {measure.title} — {', '.join(parts)}"


def cut(lines: list[str], total: int, lang: Language, command: str) -> list[str]:
    """Keep a list phone-sized; say how many more there are and which command shows them."""
    if total > len(lines):
        return [*lines, t(lang, "more_lines", n=total - len(lines), command=command)]
    return lines


def quick_answers(
    measure: Measure, lang: Language, person: Person | None = None
) -> list[QuickAnswer]:
    """✅ done, 🟢 on track, 🟡 delayed — acting exactly like the typed commands.

    With `person`, only the answers that person may give (PRODUCT.md §1 roles): none for a
    reader or an uninvolved department, no ✅ for a department that only takes part.
    """
    answers = standard_answers(measure, lang)
    if person is None or person.role is Role.COORDINATION:
        return answers
    if person.role is not Role.DEPARTMENT or person.department_id is None:
        return []
    if person.department_id == measure.lead_department_id:
        return answers
    if any(d.id == person.department_id for d in measure.participants):
        return answers[1:]
    return []


def standard_answers(measure: MeasureShape, lang: Language) -> list[QuickAnswer]:
    """The quick answers anybody responsible may give; none once the measure is closed."""
    if measure.status.is_closed:
        return []
    return _open_answers(measure.ref, lang)


def reaction_command(emoji: str, measure_id: int) -> str | None:
    """The typed command a reaction (✅ 🟢 🟡) to a message about one measure stands for."""
    key = emoji.replace(_VARIATION_SELECTOR, "")
    for answer in _open_answers(f"M-{measure_id}", "de"):
        if answer.emoji.replace(_VARIATION_SELECTOR, "") == key:
            return answer.command
    return None


# Clients send ✅ with or without the emoji presentation selector.
_VARIATION_SELECTOR = "\ufe0f"


def _open_answers(ref: str, lang: Language) -> list[QuickAnswer]:
    return [
        QuickAnswer(
            t(lang, "views.answer_done"), t(lang, "views.answer_done_command", ref=ref), "✅"
        ),
        QuickAnswer(
            t(lang, "views.answer_on_track"),
            t(lang, "views.answer_on_track_command", ref=ref),
            "🟢",
        ),
        QuickAnswer(
            t(lang, "views.answer_delayed"), t(lang, "views.answer_delayed_command", ref=ref), "🟡"
        ),
    ]


def status_counts_line(counts: dict[MeasureStatus, int], lang: Language) -> str:
    return " · ".join(
        f"{STATUS_MARKERS[s]} {counts.get(s, 0)} {status_name(s, lang)}" for s in MeasureStatus
    )


def person_label(ctx: Context, name: str | None) -> str:
    return name or ctx.t("views.nobody")


def person_name(session: Session, person: Person) -> str:
    """The name, as `Name (JA)` when someone else has it too (namesakes, PRODUCT.md §2)."""
    namesakes = session.execute(
        select(func.count()).select_from(Person).where(Person.name == person.name)
    ).scalar_one()
    if namesakes > 1 and person.department is not None:
        return f"{person.name} ({person.department.key})"
    return person.name


def indicator_line(track: IndicatorTrack, lang: Language) -> str:
    """`🟡 K-3 Betreuungsquote U3: 38,5 % (04.12.2026), Ziel 45 % (2028)`: the marker of the
    track against its target path (handlers/monitoring.py), the latest value and the target."""
    target = ""
    if track.target_value is not None:
        goal_value = f"{fmt_number(track.target_value, lang)} {track.unit}".strip()
        target = t(lang, "views.indicator_target", value=goal_value)
        if track.target_date is not None:
            target += f" ({track.target_date.year})"
    head = f"{track.marker} {track.ref} {track.name}"
    latest = track.latest
    if latest is None:
        return f"{head}: – {track.unit}".rstrip() + target
    value = f"{fmt_number(latest.value, lang)} {track.unit}".strip()
    return f"{head}: {value} ({fmt_date(latest.on, lang)}){target}"
