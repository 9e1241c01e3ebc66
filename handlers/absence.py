"""Absence and deputies: `vertretung [person] durch <vertretung> bis <datum>`, `vertretung ende`."""

from __future__ import annotations

from sqlalchemy import select

from handlers.args import Args, Token
from handlers.context import Context, Refused, UsageError
from handlers.core import Reply
from handlers.dates import take_date
from handlers.i18n import fmt_date, t
from storage.lookup import Kind
from storage.models import Person, Role

_BY = ("durch", "by")
_UNTIL = ("bis", "until", "till")
_END = ("ende", "end", "zurück", "zurueck", "back")


def _split(words: list[Token], markers: tuple[str, ...]) -> int | None:
    return next(
        (i for i, w in enumerate(words) if not w.quoted and w.text.casefold() in markers), None
    )


def _person(ctx: Context, words: list[Token]) -> Person:
    text = " ".join(w.text for w in words)
    match = ctx.resolve(text, [Kind.PERSON], start=words[0].start, end=words[-1].end)
    person = ctx.session.get(Person, match.id)
    assert person is not None
    return person


def _may_act_for(ctx: Context, person: Person) -> None:
    """Anyone sets their own absence; someone else's needs the coordinator role."""
    if ctx.person is not None and person.id == ctx.person.id:
        return
    if ctx.role is Role.COORDINATION:
        return
    raise Refused(
        t(
            ctx.lang,
            "forbidden",
            command=ctx.t("absence.for_person", person=person.name),
            roles=ctx.t("absence.roles"),
            role=ctx.role.value if ctx.role else "–",
        )
    )


def _snapshot(person: Person) -> dict[str, object]:
    return {
        "deputy": person.deputy.name if person.deputy else None,
        "absent_until": person.absent_until.isoformat() if person.absent_until else None,
    }


def deputy(ctx: Context, args: Args) -> Reply:
    words = args.words
    if not words:
        return _overview(ctx)
    if words[0].text.casefold() in _END and not words[0].quoted:
        return _end(ctx, words[1:])
    by = _split(words, _BY)
    until = _split(words, _UNTIL)
    if by is None or until is None or until < by + 2 or until >= len(words) - 1:
        raise UsageError()
    if ctx.person is None:
        raise Refused(ctx.t("absence.registered_only"))
    absent = _person(ctx, words[:by]) if by > 0 else ctx.person
    _may_act_for(ctx, absent)
    substitute = _person(ctx, words[by + 1 : until])
    found = take_date([w.text for w in words[until + 1 :]], ctx.today)
    if found is None or found[1] != len(words) - until - 1:
        text = " ".join(w.text for w in words[until + 1 :])
        raise UsageError(ctx.t("common.not_a_date", text=text))
    last_day = found[0]
    if substitute.id == absent.id:
        raise UsageError(ctx.t("absence.not_oneself"))
    if last_day < ctx.today:
        raise UsageError(ctx.t("absence.date_in_past"))
    before = _snapshot(absent)
    absent.deputy = substitute
    absent.absent_until = last_day
    ctx.session.flush()
    ctx.audit("absence", "person", absent.id, before=before, after=_snapshot(absent))
    until_text = fmt_date(last_day, ctx.lang)
    lines = [ctx.t("absence.set", absent=absent.name, until=until_text, substitute=substitute.name)]
    if substitute.absent_until is not None and substitute.absent_until >= ctx.today:
        lines.append(
            ctx.t(
                "absence.substitute_away_to_deputy",
                substitute=substitute.name,
                until=fmt_date(substitute.absent_until, ctx.lang),
                deputy=substitute.deputy.name,
            )
            if substitute.deputy
            else ctx.t(
                "absence.substitute_away_to_department",
                substitute=substitute.name,
                until=fmt_date(substitute.absent_until, ctx.lang),
            )
        )
    if not substitute.identities:
        lines.append(ctx.t("absence.substitute_unreachable", substitute=substitute.name))
    return Reply.text(*lines, heading=ctx.t("absence.set_heading"))


def _end(ctx: Context, words: list[Token]) -> Reply:
    if ctx.person is None:
        raise Refused(ctx.t("absence.registered_only"))
    person = _person(ctx, words) if words else ctx.person
    _may_act_for(ctx, person)
    if person.absent_until is None or person.absent_until < ctx.today:
        return Reply.text(ctx.t("absence.not_away", person=person.name))
    before = _snapshot(person)
    person.absent_until = None
    ctx.session.flush()
    ctx.audit("absence", "person", person.id, before=before, after=_snapshot(person))
    return Reply.text(
        ctx.t("absence.back", person=person.name),
        heading=ctx.t("absence.ended_heading"),
    )


def _overview(ctx: Context) -> Reply:
    lines: list[str] = []
    me = ctx.person
    if me is not None:
        standing = me.deputy.name if me.deputy else ctx.t("absence.no_deputy")
        if me.absent_until is not None and me.absent_until >= ctx.today:
            lines.append(
                ctx.t(
                    "absence.you_are_away",
                    until=fmt_date(me.absent_until, ctx.lang),
                    deputy=standing,
                )
            )
        else:
            lines.append(ctx.t("absence.your_deputy", deputy=standing))
    away = list(
        ctx.session.execute(
            select(Person)
            .where(Person.absent_until >= ctx.today)
            .order_by(Person.absent_until, Person.name)
            .limit(10)
        ).scalars()
    )
    reply = Reply.text(*lines, heading=ctx.t("absence.overview_heading"))
    if away:
        reply.add(
            *[
                f"{p.name} → {p.deputy.name if p.deputy else '–'} "
                + ctx.t("absence.away_until", until=fmt_date(p.absent_until, ctx.lang))
                for p in away
            ],
            heading=ctx.t("absence.away_heading"),
        )
    reply.add(ctx.t("absence.how_to_set"))
    return reply
