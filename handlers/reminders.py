"""Reminder settings of a room: `erinnerungen [an|aus|zeit:HH:MM]`."""

from __future__ import annotations

import re
from datetime import timedelta

from handlers.args import Args
from handlers.context import Context, Refused, UsageError
from handlers.core import Reply
from handlers.i18n import fmt_date
from handlers.ports import ReminderRules
from handlers.views import LIST_LIMIT, cut
from storage.reach import unreachable

REMINDER_OPTIONS = {"zeit": "time", "time": "time", "uhrzeit": "time"}
_ON = ("an", "on", "ein")
_OFF = ("aus", "off")
_DEFAULT = ("standard", "default", "normal")
_HHMM = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")
_DAY_NAMES = {
    "de": ("montags", "dienstags", "mittwochs", "donnerstags", "freitags"),
    "en": ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays"),
}


def reminders(ctx: Context, args: Args) -> Reply:
    rules = ctx.settings.rules
    room = ctx.room
    words = [w.text.casefold() for w in args.words]
    if not words and "time" not in args.options:
        return _show(ctx, rules)
    if room is None or (room.department is None and not room.is_coordination):
        raise Refused(
            ctx.de_en(
                "Dieser Raum ist weder mit einem Ressort verknüpft noch der Koordinationsraum; "
                "hierher gehen keine Erinnerungen. Verknüpfen: ressort verknüpfen <ressort>",
                "This room is neither linked to a department nor the coordination room; no "
                "reminders come here. Link it: department link <department>",
            )
        )
    before = {"enabled": room.reminders_enabled, "time": room.reminder_time}
    for word in words:
        if word in _ON:
            room.reminders_enabled = True
        elif word in _OFF:
            room.reminders_enabled = False
        else:
            raise UsageError(
                ctx.de_en(
                    f"„{word}“: an, aus oder zeit:HH:MM.", f"“{word}”: on, off or time:HH:MM."
                )
            )
    if "time" in args.options:
        value = args.options["time"].text.strip().casefold()
        if value in _DEFAULT:
            room.reminder_time = None
        else:
            found = _HHMM.match(value)
            if found is None:
                raise UsageError(
                    ctx.de_en("Die Zeit als HH:MM, z. B. 09:30.", "The time as HH:MM, e.g. 09:30.")
                )
            wanted = f"{int(found.group(1)):02d}:{found.group(2)}"
            start, end = f"{rules.work_start:%H:%M}", f"{rules.work_end:%H:%M}"
            if not start <= wanted < end:
                raise UsageError(
                    ctx.de_en(
                        f"Erinnerungen gehen nur in der Arbeitszeit {start}–{end} hinaus.",
                        f"Reminders only go out in working hours {start}–{end}.",
                    )
                )
            room.reminder_time = wanted
    after = {"enabled": room.reminders_enabled, "time": room.reminder_time}
    if after != before:
        ctx.audit("reminders", "room", room.id, before=before, after=after)
    return _show(ctx, rules, changed=after != before)


def _show(ctx: Context, rules: ReminderRules, *, changed: bool = False) -> Reply:
    room = ctx.room
    start, end = f"{rules.work_start:%H:%M}", f"{rules.work_end:%H:%M}"
    lines: list[str] = []
    if room is None or (room.department is None and not room.is_coordination):
        lines.append(
            ctx.de_en(
                "Dieser Raum ist nicht verknüpft; hierher gehen keine Erinnerungen.",
                "This room is not linked; no reminders come here.",
            )
        )
    else:
        at = room.reminder_time or f"{rules.send_time:%H:%M}"
        standard = "" if room.reminder_time else ctx.de_en(" (Standard)", " (default)")
        lines.append(
            ctx.de_en(
                f"Erinnerungen hier: {'an' if room.reminders_enabled else 'aus'}, um {at}"
                f"{standard}",
                f"Reminders here: {'on' if room.reminders_enabled else 'off'}, at {at}{standard}",
            )
        )
        what: list[str] = []
        if room.department is not None:
            what.append(
                ctx.de_en(
                    f"Überfälliges und Sitzungsvorbereitung von {room.department.key}, "
                    "Erinnerungen ohne erreichbare Person",
                    f"overdue measures and meeting requests of {room.department.key}, "
                    "reminders whose person cannot be reached",
                )
            )
        if room.is_coordination:
            what.append(
                ctx.de_en(
                    "Wochenübersicht, Tagesordnungen, alles ohne anderen Empfänger",
                    "weekly digest, agendas, whatever has no other recipient",
                )
            )
        lines.append(ctx.de_en("Hierher: ", "Here: ") + "; ".join(what))
        if room.is_coordination:
            today = ctx.today
            monday = today - timedelta(days=today.weekday())
            for week in (monday, monday + timedelta(days=7)):
                day = rules.calendar.on_or_after(week + timedelta(days=rules.digest_weekday))
                if rules.calendar.at(day, rules.room_time(room.reminder_time)) > ctx.now:
                    lines.append(
                        ctx.de_en("Nächste Wochenübersicht: ", "Next weekly digest: ")
                        + fmt_date(day, ctx.lang)
                    )
                    break
    days = " und ".join(str(d) for d in rules.deadline_days)
    meeting = " und ".join(str(d) for d in rules.meeting_days)
    digest_day = _DAY_NAMES["de" if ctx.lang == "de" else "en"][rules.digest_weekday]
    reply = Reply.text(
        *lines,
        heading=ctx.de_en(
            "Erinnerungen geändert" if changed else "Erinnerungen",
            "Reminders changed" if changed else "Reminders",
        ),
    )
    reply.add(
        ctx.de_en(
            f"Arbeitszeit {start}–{end}, Mo–Fr außer Feiertagen ({rules.state})",
            f"Working hours {start}–{end}, Mon–Fri except public holidays ({rules.state})",
        ),
        ctx.de_en(
            f"Fristen: {days} Tage vorher; überfällig: am Arbeitstag danach, dann alle "
            f"{rules.overdue_repeat_days} Tage",
            f"Deadlines: {days.replace(' und ', ' and ')} days before; overdue: the working day "
            f"after, then every {rules.overdue_repeat_days} days",
        ),
        ctx.de_en(
            f"Sitzungen: {meeting} Arbeitstage vorher an die Ressorts, Tagesordnung "
            f"{rules.agenda_days} Arbeitstag(e) vorher",
            f"Meetings: {meeting.replace(' und ', ' and ')} working days before to the "
            f"departments, agenda {rules.agenda_days} working day(s) before",
        ),
        ctx.de_en(
            f"Wochenübersicht {digest_day} {rules.digest_time:%H:%M}",
            f"Weekly digest {digest_day} {rules.digest_time:%H:%M}",
        ),
        heading=ctx.de_en("Für alle", "For everyone"),
    )
    missing = unreachable(ctx.session, ctx.settings.platforms)
    if missing:
        # Who no reminder reaches, so that coordinators can fix it (PRODUCT.md §3).
        reply.add(
            *cut(
                [m.line(ctx.lang) for m in missing[:LIST_LIMIT]],
                len(missing),
                ctx.lang,
                ctx.de_en("personen", "people"),
            ),
            heading=ctx.de_en("Nicht erreichbar", "Not reachable"),
        )
    reply.add(
        ctx.de_en(
            "Ändern: erinnerungen an | aus | zeit:HH:MM | zeit:standard",
            "Change: reminders on | off | time:HH:MM | time:default",
        )
    )
    return reply
