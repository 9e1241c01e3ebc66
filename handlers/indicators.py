"""Indicators (Kennzahlen, PRODUCT.md §1): `kennzahl neu` defines one of a goal, `kennzahl
<indikator> <wert> [datum] [quelle:]` records a value, `status K-3` / `kennzahl K-3` shows the
series against the target path (handlers/monitoring.py)."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import exists, or_, select

from handlers.args import Args, Token, words_after
from handlers.context import Context, Refused, UsageError, date_option
from handlers.core import Reply
from handlers.dates import take_date
from handlers.i18n import fmt_date, fmt_number, interval_name
from handlers.monitoring import IndicatorTrack, indicator_tracks
from storage.intervals import parse_interval
from storage.lookup import Kind
from storage.models import (
    Department,
    Direction,
    Goal,
    Indicator,
    IndicatorValue,
    Measure,
    Role,
    measure_participants,
)

NEW_OPTIONS = {
    "ziel": "goal",
    "goal": "goal",
    "einheit": "unit",
    "unit": "unit",
    "richtung": "direction",
    "direction": "direction",
    "basis": "baseline",
    "baseline": "baseline",
    "basisdatum": "baseline_date",
    "baseline_date": "baseline_date",
    "zielwert": "target",
    "target": "target",
    "bis": "target_date",
    "by": "target_date",
    "until": "target_date",
    "intervall": "interval",
    "interval": "interval",
    "ressort": "department",
    "department": "department",
}
VALUE_OPTIONS = {"quelle": "source", "source": "source"}

# How a direction is typed (`richtung:steigend`), German and English.
DIRECTION_WORDS = {
    "steigend": Direction.HIGHER_IS_BETTER,
    "höher": Direction.HIGHER_IS_BETTER,
    "hoeher": Direction.HIGHER_IS_BETTER,
    "rising": Direction.HIGHER_IS_BETTER,
    "higher": Direction.HIGHER_IS_BETTER,
    "up": Direction.HIGHER_IS_BETTER,
    "fallend": Direction.LOWER_IS_BETTER,
    "niedriger": Direction.LOWER_IS_BETTER,
    "falling": Direction.LOWER_IS_BETTER,
    "lower": Direction.LOWER_IS_BETTER,
    "down": Direction.LOWER_IS_BETTER,
}
_DIRECTION_NAMES = {
    Direction.HIGHER_IS_BETTER: "indicators.direction_higher",
    Direction.LOWER_IS_BETTER: "indicators.direction_lower",
}

# A number as typed: digits with at most one decimal separator, `,` or `.`.
_NUMBER = re.compile(r"^[+-]?(\d+)(?:[.,](\d+))?$")
_NUMBER_LIKE = re.compile(r"^[+-]?\d[\d.,]*$")
# `1.234` / `1,234`: a thousands separator or a decimal one? Refused instead of guessed.
_AMBIGUOUS = re.compile(r"^[+-]?[1-9]\d{0,2}[.,]\d{3}$")
# A day and month without a year (`30.11.`): a value's date is in the past, not next year.
_DAY_MONTH = re.compile(r"^\d{1,2}\.\d{1,2}\.?$")
SERIES_LENGTH = 8


def parse_decimal(ctx: Context, text: str) -> float:
    """`38,5` and `38.5` are 38.5; `1.234` is refused as ambiguous (PRODUCT.md §2)."""
    typed = text.strip()
    if _AMBIGUOUS.match(typed) or len(re.findall(r"[.,]", typed)) > 1:
        plain = re.sub(r"[.,]", "", typed)
        raise UsageError(ctx.t("indicators.number_ambiguous", typed=typed, plain=plain))
    found = _NUMBER.match(typed)
    if found is None:
        raise UsageError(ctx.t("indicators.not_a_number", typed=typed))
    return float(typed.replace(",", "."))


def _number(value: float | None, unit: str, lang: str) -> str:
    if value is None:
        return "–"
    return f"{fmt_number(value, lang)} {unit}".strip()


def _resolve_option(ctx: Context, token: Token, kinds: list[Kind]) -> int:
    return ctx.resolve(token.text, kinds, start=token.start, end=token.end).id


# -- kennzahl neu ---------------------------------------------------------------------------


def new_indicator(ctx: Context, args: Args) -> Reply:
    ctx.take_option_words(args, {"goal": [Kind.GOAL], "department": [Kind.DEPARTMENT]})
    options = args.options
    dates = {
        name: date_option(ctx, options[name], args)
        for name in ("baseline_date", "target_date")
        if name in options
    }
    ctx.refuse_stray_words(args)
    if not args.words:
        raise UsageError(ctx.t("indicators.name_missing"))
    if "goal" not in options:
        raise UsageError(ctx.t("indicators.goal_missing"))
    if "direction" not in options:
        raise UsageError(ctx.t("indicators.direction_missing"))
    direction = DIRECTION_WORDS.get(options["direction"].text.casefold())
    if direction is None:
        raise UsageError(ctx.t("indicators.direction_unknown", typed=options["direction"].text))
    name = " ".join(w.text for w in args.words)
    goal = ctx.session.get(Goal, _resolve_option(ctx, options["goal"], [Kind.GOAL]))
    assert goal is not None
    baseline = parse_decimal(ctx, options["baseline"].text) if "baseline" in options else None
    target = parse_decimal(ctx, options["target"].text) if "target" in options else None
    baseline_date = dates.get("baseline_date")
    if baseline is not None and baseline_date is None:
        baseline_date = ctx.today  # a baseline without a date is today's
    target_date = dates.get("target_date")
    if target_date is not None and target is None:
        raise UsageError(ctx.t("indicators.target_date_without_target"))
    if target_date is not None and baseline_date is not None and target_date <= baseline_date:
        raise UsageError(
            ctx.t(
                "indicators.target_before_baseline",
                target=fmt_date(target_date, ctx.lang),
                baseline=fmt_date(baseline_date, ctx.lang),
            )
        )
    interval = None
    if "interval" in options:
        interval = parse_interval(options["interval"].text)
        if interval is None:
            raise UsageError(ctx.t("common.interval_unknown"))
    department = None
    if "department" in options:
        department = ctx.session.get(
            Department, _resolve_option(ctx, options["department"], [Kind.DEPARTMENT])
        )
    unit = options["unit"].text.strip() if "unit" in options else ""
    indicator = Indicator(
        goal_id=goal.id,
        name=name,
        unit=unit,
        direction=direction,
        baseline=baseline,
        baseline_date=baseline_date,
        target_value=target,
        target_date=target_date,
        update_interval=interval,
        department=department,
        created_at=ctx.now,
    )
    ctx.session.add(indicator)
    ctx.session.flush()
    ctx.audit(
        "create",
        "indicator",
        indicator.id,
        after={
            "name": name,
            "goal": goal.ref,
            "unit": unit,
            "direction": direction.value,
            "baseline": baseline,
            "baseline_date": baseline_date.isoformat() if baseline_date else None,
            "target_value": target,
            "target_date": target_date.isoformat() if target_date else None,
            "update_interval": interval,
            "department": department.key if department else None,
        },
    )
    (track,) = indicator_tracks(ctx.session, indicator_ids=[indicator.id])
    lines = [
        ctx.t("indicators.goal", goal=goal.ref, title=goal.title),
        *_definition_lines(ctx, track, interval),
    ]
    if department is not None:
        lines.append(ctx.t("indicators.department", department=department.label))
    lines.append(ctx.t("indicators.how_to_record", indicator=track.ref))
    return Reply.text(*lines, heading=ctx.t("indicators.created", indicator=track.ref, name=name))


def _definition_lines(ctx: Context, track: IndicatorTrack, interval: str | None) -> list[str]:
    lang = ctx.lang
    lines = [
        ctx.t(
            "indicators.baseline",
            value=_number(track.baseline, track.unit, lang),
            date=fmt_date(track.baseline_date, lang),
        )
        if track.baseline is not None
        else ctx.t("indicators.no_baseline"),
    ]
    if track.target_value is None:
        lines.append(ctx.t("indicators.no_target"))
    elif track.target_date is None:
        lines.append(
            ctx.t("indicators.target_open", value=_number(track.target_value, track.unit, lang))
        )
    else:
        lines.append(
            ctx.t(
                "indicators.target",
                value=_number(track.target_value, track.unit, lang),
                date=fmt_date(track.target_date, lang),
            )
        )
    lines.append(ctx.t(_DIRECTION_NAMES[track.direction]))
    if interval:
        lines.append(
            ctx.t(
                "indicators.interval",
                interval=interval_name(interval, lang),
                date=fmt_date(track.value_due_on, lang),
            )
        )
    return lines


# -- kennzahl <indikator> <wert> ------------------------------------------------------------


def record(ctx: Context, args: Args) -> Reply:
    """`kennzahl K-3 38,5 [datum] [quelle:…]`; without a value the indicator's detail."""
    if not args.words:
        raise UsageError()
    source = None
    if "source" in args.options:
        # `quelle:Kita-Statistik November` takes the unquoted words after it.
        token = args.options["source"]
        words = [] if token.quoted else words_after(args, token)
        for word in words:
            args.words.remove(word)
        source = " ".join([token.text, *(w.text for w in words)]).strip() or None
    at = next((i for i, w in enumerate(args.words) if i > 0 and _NUMBER_LIKE.match(w.text)), None)
    reference = args.words[: at if at is not None else len(args.words)]
    text = " ".join(w.text for w in reference)
    match = ctx.resolve(text, [Kind.INDICATOR], start=reference[0].start, end=reference[-1].end)
    if at is None:
        if "source" in args.options:
            raise UsageError(ctx.t("indicators.value_missing"))
        return indicator_detail(ctx, match.id)
    indicator = ctx.session.get(Indicator, match.id)
    assert indicator is not None
    _check_scope(ctx, indicator)
    value_token = args.words[at]
    value = parse_decimal(ctx, value_token.text)
    rest = [w.text for w in args.words[at + 1 :]]
    measured_on = ctx.today
    if rest:
        found = take_date(rest, ctx.today)
        if found is None or found[1] != len(rest):
            raise UsageError(ctx.t("indicators.date_unreadable", text=" ".join(rest)))
        measured_on = found[0]
        if measured_on > ctx.today and _DAY_MONTH.match(rest[0]) and len(rest) == 1:
            # `30.11.` in early December is last week's, not next year's.
            measured_on = _year_before(measured_on)
    if measured_on > ctx.today:
        raise UsageError(ctx.t("indicators.date_in_future", date=fmt_date(measured_on, ctx.lang)))
    replaced = ctx.session.execute(
        select(IndicatorValue.value)
        .where(
            IndicatorValue.indicator_id == indicator.id, IndicatorValue.measured_on == measured_on
        )
        .order_by(IndicatorValue.id.desc())
        .limit(1)
    ).scalar()
    ctx.session.add(
        IndicatorValue(
            indicator_id=indicator.id,
            measured_on=measured_on,
            value=value,
            source=source,
            person_id=ctx.person.id if ctx.person else None,
            recorded_at=ctx.now,
        )
    )
    ctx.session.flush()
    ctx.audit(
        "value",
        "indicator",
        indicator.id,
        before={"value": replaced, "measured_on": measured_on.isoformat()}
        if replaced is not None
        else None,
        after={"value": value, "measured_on": measured_on.isoformat(), "source": source},
    )
    (track,) = indicator_tracks(ctx.session, indicator_ids=[indicator.id])
    lang = ctx.lang
    shown = _number(value, track.unit, lang)
    lines = []
    if replaced is not None:
        lines.append(ctx.t("indicators.replaced", value=_number(replaced, track.unit, lang)))
    if source:
        lines.append(ctx.t("indicators.source", source=source))
    lines += _standing(ctx, track, value, measured_on)
    if track.value_due_on is not None:
        lines.append(ctx.t("indicators.next_due", date=fmt_date(track.value_due_on, lang)))
    heading = ctx.t(
        "indicators.recorded",
        marker=_marker_of(track, value, measured_on),
        indicator=track.ref,
        name=track.name,
        value=shown,
        date=fmt_date(measured_on, lang),
    )
    return Reply.text(*lines, heading=heading)


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _marker_of(track: IndicatorTrack, value: float, on: date) -> str:
    """The marker of a value: the track's when it is the latest, else measured the same way."""
    latest = track.latest
    if latest is not None and latest.on == on:
        return track.marker
    expected = track.path_value(on)
    if track.target_value is not None and track.better_or_equal(value, track.target_value):
        return "✅"
    if expected is None:
        return "⚪"
    return "🟢" if track.better_or_equal(value, expected) else "🔴"


def _standing(ctx: Context, track: IndicatorTrack, value: float, on: date) -> list[str]:
    """Against the baseline, the target and the target path on the value's day."""
    lang = ctx.lang
    lines: list[str] = []
    facts = []
    if track.baseline is not None:
        facts.append(
            ctx.t("indicators.vs_baseline", value=_number(track.baseline, track.unit, lang))
        )
    if track.target_value is not None:
        target = _number(track.target_value, track.unit, lang)
        if track.target_date is not None:
            facts.append(
                ctx.t("indicators.vs_target", value=target, date=fmt_date(track.target_date, lang))
            )
        else:
            facts.append(ctx.t("indicators.vs_target_open", value=target))
    if facts:
        lines.append(" · ".join(facts))
    if track.target_value is None:
        lines.append(ctx.t("indicators.no_target"))
        return lines
    if track.better_or_equal(value, track.target_value):
        lines.append(ctx.t("indicators.target_met"))
        return lines
    expected = track.path_value(on)
    assert expected is not None
    path = _number(track.rounded(expected), track.unit, lang)
    if on == ctx.today:
        lines.append(ctx.t("indicators.path_today", value=path))
    else:
        lines.append(ctx.t("indicators.path_on", value=path, date=fmt_date(on, lang)))
    if track.better_or_equal(value, expected):
        lines.append(ctx.t("indicators.on_track"))
    else:
        gap = _number(track.rounded(abs(expected - value)), track.unit, lang)
        lines.append(ctx.t("indicators.off_track", gap=gap))
    return lines


def _check_scope(ctx: Context, indicator: Indicator) -> None:
    """Department members record values of their department's indicators and of the goals
    their department leads or takes part in (PRODUCT.md §1 roles)."""
    person = ctx.person
    if person is None or person.role is Role.COORDINATION:
        return
    department_id = person.department_id
    if department_id is not None:
        if indicator.department_id == department_id:
            return
        involved = ctx.session.execute(
            select(
                exists().where(
                    Measure.goal_id == indicator.goal_id,
                    or_(
                        Measure.lead_department_id == department_id,
                        Measure.id.in_(
                            select(measure_participants.c.measure_id).where(
                                measure_participants.c.department_id == department_id
                            )
                        ),
                    ),
                )
            )
        ).scalar()
        if involved:
            return
    goal = indicator.goal
    raise Refused(
        ctx.t(
            "indicators.forbidden_scope",
            indicator=f"K-{indicator.id}",
            department=person.department.key if person.department else "–",
            goal=goal.ref,
        )
    )


# -- the detail -----------------------------------------------------------------------------


def indicator_detail(ctx: Context, indicator_id: int) -> Reply:
    """`status K-3`: the definition, the series (newest first), and where it stands."""
    (track,) = indicator_tracks(ctx.session, indicator_ids=[indicator_id])
    indicator = ctx.session.get(Indicator, indicator_id)
    assert indicator is not None
    lang = ctx.lang
    lines = [ctx.t("indicators.goal", goal=track.goal_ref, title=track.goal_title)]
    if indicator.department is not None:
        lines.append(ctx.t("indicators.department", department=indicator.department.label))
    lines += _definition_lines(ctx, track, None)
    reply = Reply.text(*lines, heading=f"{track.marker} {track.ref} {track.name}")
    latest = track.latest
    if latest is None:
        reply.add(ctx.t("indicators.no_values", indicator=track.ref))
    else:
        reply.add(
            *_standing(ctx, track, latest.value, latest.on),
            heading=ctx.t(
                "indicators.latest",
                value=_number(latest.value, track.unit, lang),
                date=fmt_date(latest.on, lang),
            ),
        )
        reply.add(*_series(ctx, track), heading=ctx.t("indicators.series_heading"))
    if indicator.update_interval:
        interval = interval_name(indicator.update_interval, lang)
        due = fmt_date(track.value_due_on, lang)
        if track.is_value_due(ctx.today):
            reply.add(ctx.t("indicators.value_overdue", date=due, interval=interval))
        else:
            reply.add(ctx.t("indicators.interval", interval=interval, date=due))
    return reply


def _series(ctx: Context, track: IndicatorTrack) -> list[str]:
    """The last values, newest first, one per day (a correction replaces that day's)."""
    rows = ctx.session.execute(
        select(IndicatorValue.measured_on, IndicatorValue.value, IndicatorValue.source)
        .where(IndicatorValue.indicator_id == track.indicator_id)
        .order_by(IndicatorValue.measured_on.desc(), IndicatorValue.id.desc())
        .limit(SERIES_LENGTH * 4)
    ).all()
    seen: set[date] = set()
    lines: list[str] = []
    for on, value, source in rows:
        if on in seen:
            continue
        seen.add(on)
        line = f"• {fmt_date(on, ctx.lang)}: {_number(value, track.unit, ctx.lang)}"
        lines.append(f"{line} ({source})" if source else line)
        if len(lines) == SERIES_LENGTH:
            break
    if len(track.points) > len(lines):
        lines.append(ctx.t("indicators.series_more", n=len(track.points) - len(lines)))
    return lines
