"""Reminder settings of a room: `erinnerungen [an|aus|zeit:HH:MM]`."""

from __future__ import annotations

import re
from datetime import timedelta

from handlers.args import Args
from handlers.context import Context, Refused, UsageError
from handlers.core import Reply
from handlers.i18n import fmt_date, unreachable_line
from handlers.ports import ReminderRules
from handlers.views import LIST_LIMIT, cut
from storage.reach import unreachable

REMINDER_OPTIONS = {"zeit": "time", "time": "time", "uhrzeit": "time"}
_ON = ("an", "on", "ein")
_OFF = ("aus", "off")
_DEFAULT = ("standard", "default", "normal")
_HHMM = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")
# The weekday of the digest, as in "Wochenübersicht montags 08:00" (Monday to Friday).
_DAY_NAMES = (
    "reminders.on_mondays",
    "reminders.on_tuesdays",
    "reminders.on_wednesdays",
    "reminders.on_thursdays",
    "reminders.on_fridays",
)


def reminders(ctx: Context, args: Args) -> Reply:
    rules = ctx.settings.rules
    room = ctx.room
    words = [w.text.casefold() for w in args.words]
    if not words and "time" not in args.options:
        return _show(ctx, rules)
    if room is None or (room.department is None and not room.is_coordination):
        raise Refused(ctx.t("reminders.room_not_linked_refused"))
    before = {"enabled": room.reminders_enabled, "time": room.reminder_time}
    for word in words:
        if word in _ON:
            room.reminders_enabled = True
        elif word in _OFF:
            room.reminders_enabled = False
        else:
            raise UsageError(ctx.t("reminders.unknown_word", word=word))
    if "time" in args.options:
        value = args.options["time"].text.strip().casefold()
        if value in _DEFAULT:
            room.reminder_time = None
        else:
            found = _HHMM.match(value)
            if found is None:
                raise UsageError(ctx.t("reminders.time_shape"))
            wanted = f"{int(found.group(1)):02d}:{found.group(2)}"
            start, end = f"{rules.work_start:%H:%M}", f"{rules.work_end:%H:%M}"
            if not start <= wanted < end:
                raise UsageError(ctx.t("reminders.time_outside_hours", start=start, end=end))
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
        lines.append(ctx.t("reminders.room_not_linked"))
    else:
        at = room.reminder_time or f"{rules.send_time:%H:%M}"
        standard = "" if room.reminder_time else ctx.t("reminders.default_marker")
        lines.append(
            ctx.t(
                "reminders.here_on" if room.reminders_enabled else "reminders.here_off",
                at=at,
                default=standard,
            )
        )
        what: list[str] = []
        if room.department is not None:
            what.append(ctx.t("reminders.department_room_gets", department=room.department.key))
        if room.is_coordination:
            what.append(ctx.t("reminders.coordination_room_gets"))
        lines.append(ctx.t("reminders.here", what="; ".join(what)))
        if room.is_coordination:
            today = ctx.today
            monday = today - timedelta(days=today.weekday())
            for week in (monday, monday + timedelta(days=7)):
                day = rules.calendar.on_or_after(week + timedelta(days=rules.digest_weekday))
                if rules.calendar.at(day, rules.room_time(room.reminder_time)) > ctx.now:
                    lines.append(ctx.t("reminders.next_digest", date=fmt_date(day, ctx.lang)))
                    break
    days = ctx.t("common.and").join(str(d) for d in rules.deadline_days)
    meeting = ctx.t("common.and").join(str(d) for d in rules.meeting_days)
    digest_day = ctx.t(_DAY_NAMES[rules.digest_weekday])
    reply = Reply.text(
        *lines,
        heading=ctx.t("reminders.changed_heading" if changed else "reminders.heading"),
    )
    reply.add(
        ctx.t("reminders.working_hours", start=start, end=end, state=rules.state),
        ctx.t("reminders.deadlines", days=days, repeat=rules.overdue_repeat_days),
        ctx.t("reminders.meetings", days=meeting, agenda=rules.agenda_days),
        ctx.t("reminders.digest_when", day=digest_day, time=rules.digest_time),
        heading=ctx.t("reminders.everyone_heading"),
    )
    missing = unreachable(ctx.session, ctx.settings.platforms)
    if missing:
        # Who no reminder reaches, so that coordinators can fix it (PRODUCT.md §3).
        reply.add(
            *cut(
                [unreachable_line(m, ctx.lang) for m in missing[:LIST_LIMIT]],
                len(missing),
                ctx.lang,
                ctx.t("reminders.people_command"),
            ),
            heading=ctx.t("common.unreachable_heading"),
        )
    reply.add(ctx.t("reminders.how_to_change"))
    return reply
