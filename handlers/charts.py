"""Charts for `diagramm [bezug]` (PRODUCT.md §2): one PNG chosen by the reference.

- nothing: the status of the measures per lead department (stacked bars);
- a department: the status of the measures it leads or takes part in, per goal (stacked
  horizontal bars, the goals with most measures first, the rest in one bar);
- a goal: the mean progress of its measures (and its sub-goals') over time, from the status
  reports' history, per week or (over half a year) per month (a line);
- an indicator: its values against the target path from baseline to target (handlers.monitoring).

matplotlib's object API on the Agg canvas (no pyplot: no global state, safe beside other
threads), imported where a chart is drawn, so the registry loads without it. `build_figure`
returns the Figure and the figures it shows, for tests that read the drawn Axes.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from handlers.i18n import fmt_date, fmt_number, plural, status_name, t
from handlers.monitoring import IndicatorTrack, indicator_tracks
from storage.events import session_zone
from storage.lookup import Kind, Match
from storage.models import (
    Department,
    Goal,
    Measure,
    MeasureStatus,
    StatusReport,
    measure_participants,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# 6.4 × 3.6 in at 180 dpi: 1152 × 648 px; text of 11 pt and more stays legible in a chat.
WIDTH_IN = 6.4
HEIGHT_IN = 3.6
DPI = 180
FONT_PT = 11
TITLE_PT = 12
# A department's chart shows this many goals; the others share one bar.
GOAL_BARS = 10
LABEL_CHARS = 30

STATUS_ORDER = (
    MeasureStatus.PLANNED,
    MeasureStatus.IN_PROGRESS,
    MeasureStatus.DELAYED,
    MeasureStatus.AT_RISK,
    MeasureStatus.DONE,
    MeasureStatus.CANCELLED,
)
# The colours of the status markers (handlers.i18n.STATUS_MARKERS: ⚪ 🟢 🟡 🔴 ✅ ⚫).
STATUS_COLOURS: dict[MeasureStatus, str] = {
    MeasureStatus.PLANNED: "#c9ccd1",
    MeasureStatus.IN_PROGRESS: "#78b159",
    MeasureStatus.DELAYED: "#f4c430",
    MeasureStatus.AT_RISK: "#dd2e44",
    MeasureStatus.DONE: "#2e7d32",
    MeasureStatus.CANCELLED: "#31373d",
}
LINE_COLOUR = "#1f5fa8"
PATH_COLOUR = "#6b7280"
TARGET_COLOUR = "#2e7d32"


class NoChartData(Exception):
    """Nothing to draw; the message says so in the reader's language."""


@dataclass(frozen=True)
class Chart:
    png: bytes
    width: int
    height: int
    title: str
    caption: str  # the figures the chart shows, as a sentence
    kind: str  # "departments", "department", "goal", "indicator"
    ref: str | None  # what names it in a file name: JA, Z-3, K-2 (None: all departments)


@dataclass
class ChartData:
    """What a chart shows: bars (labels × status counts) or a line (dates × values)."""

    kind: str
    title: str
    caption: str
    ref: str | None
    labels: list[str] = field(default_factory=list)
    counts: dict[MeasureStatus, list[int]] = field(default_factory=dict)
    points: list[tuple[date, float]] = field(default_factory=list)
    path: list[tuple[date, float]] = field(default_factory=list)
    target: tuple[date, float] | None = None
    unit: str = ""
    y_label: str = ""


def render_chart(session: Session, match: Match | None, lang: str, today: date) -> Chart:
    """The chart of the reference as PNG; NoChartData when there is nothing to draw."""
    figure, data = build_figure(session, match, lang, today)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    width, height = canvas.get_width_height()
    return Chart(
        png=buffer.getvalue(),
        width=int(width),
        height=int(height),
        title=data.title,
        caption=data.caption,
        kind=data.kind,
        ref=data.ref,
    )


def build_figure(
    session: Session, match: Match | None, lang: str, today: date
) -> tuple[Figure, ChartData]:
    if match is None:
        data = departments_data(session, lang)
    elif match.kind is Kind.DEPARTMENT:
        data = department_data(session, match.id, lang)
    elif match.kind is Kind.GOAL:
        data = goal_data(session, match.id, lang, today)
    elif match.kind is Kind.INDICATOR:
        data = indicator_data(session, match.id, lang)
    else:
        raise ValueError(f"no chart of a {match.kind}")
    return draw(data, lang), data


# -- the figures ------------------------------------------------------------------------------


def _status_list(counts: dict[MeasureStatus, int], lang: str) -> str:
    return ", ".join(
        t(lang, "charts.status_count", n=counts[s], status=status_name(s, lang))
        for s in STATUS_ORDER
        if counts.get(s)
    )


def departments_data(session: Session, lang: str) -> ChartData:
    rows = session.execute(
        select(Department.key, Measure.status, func.count())
        .join(Department, Department.id == Measure.lead_department_id)
        .group_by(Department.key, Measure.status)
        .order_by(Department.key)
    ).all()
    if not rows:
        raise NoChartData(t(lang, "charts.no_measures"))
    keys = sorted({key for key, _s, _n in rows})
    counts = {s: [0] * len(keys) for s in STATUS_ORDER}
    totals: dict[MeasureStatus, int] = defaultdict(int)
    for key, status, n in rows:
        counts[MeasureStatus(status)][keys.index(key)] += int(n)
        totals[MeasureStatus(status)] += int(n)
    total = sum(totals.values())
    caption = t(
        lang,
        "charts.caption_departments",
        measures=plural(lang, "charts.measures", total),
        departments=plural(lang, "charts.departments", len(keys)),
        statuses=_status_list(totals, lang),
    )
    return ChartData(
        kind="departments",
        title=t(lang, "charts.title_departments"),
        caption=caption,
        ref=None,
        labels=keys,
        counts=counts,
        y_label=t(lang, "charts.axis_measures"),
    )


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def department_data(session: Session, department_id: int, lang: str) -> ChartData:
    department = session.get(Department, department_id)
    assert department is not None
    name = f"{department.name} ({department.key})"
    participating = select(measure_participants.c.measure_id).where(
        measure_participants.c.department_id == department_id
    )
    rows = session.execute(
        select(Measure.goal_id, Measure.status, func.count())
        .where(or_(Measure.lead_department_id == department_id, Measure.id.in_(participating)))
        .group_by(Measure.goal_id, Measure.status)
    ).all()
    if not rows:
        raise NoChartData(t(lang, "charts.no_department_measures", department=name))
    per_goal: dict[int | None, dict[MeasureStatus, int]] = defaultdict(lambda: defaultdict(int))
    totals: dict[MeasureStatus, int] = defaultdict(int)
    for goal_id, status, n in rows:
        per_goal[goal_id][MeasureStatus(status)] += int(n)
        totals[MeasureStatus(status)] += int(n)
    goal_ids = [g for g in per_goal if g is not None]
    # The goals with most measures first; ties by id.
    goal_ids.sort(key=lambda g: (-sum(per_goal[g].values()), g))
    shown, rest = goal_ids[:GOAL_BARS], goal_ids[GOAL_BARS:]
    titles = dict(
        session.execute(select(Goal.id, Goal.title).where(Goal.id.in_(shown))).tuples().all()
    )
    labels = [t(lang, "charts.goal_label", ref=f"Z-{g}", title=_short(titles[g])) for g in shown]
    groups: list[dict[MeasureStatus, int]] = [per_goal[g] for g in shown]
    # The other goals are named in the caption, not drawn: one bar of all of them would dwarf
    # the goals shown.
    hidden = sum(sum(per_goal[g].values()) for g in rest)
    if None in per_goal:
        labels.append(t(lang, "charts.no_goal"))
        groups.append(per_goal[None])
    counts = {s: [group.get(s, 0) for group in groups] for s in STATUS_ORDER}
    caption = t(
        lang,
        "charts.caption_department",
        department=name,
        measures=plural(lang, "charts.measures", sum(totals.values())),
        goals=plural(lang, "charts.goals", len(goal_ids)),
        statuses=_status_list(totals, lang),
    )
    if rest:
        caption += " " + t(
            lang,
            "charts.not_shown",
            goals=plural(lang, "charts.other_goals", len(rest)),
            measures=plural(lang, "charts.measures", hidden),
        )
    return ChartData(
        kind="department",
        title=t(lang, "charts.title_department", department=department.key),
        caption=caption,
        ref=department.key,
        labels=labels,
        counts=counts,
        y_label=t(lang, "charts.axis_measures"),
    )


def _goal_tree(session: Session, goal_id: int) -> list[int]:
    """The goal and every goal below it."""
    parents = dict(session.execute(select(Goal.id, Goal.parent_id)).tuples().all())
    children: dict[int, list[int]] = defaultdict(list)
    for child, parent in parents.items():
        if parent is not None:
            children[parent].append(child)
    found, todo = [], [goal_id]
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _period_ends(first: date, today: date) -> list[date]:
    """Week ends (Sundays) from the first date's week to today's, or month ends when that
    spans more than 26 weeks; the last one is today."""
    ends: list[date] = []
    if (today - first).days <= 26 * 7:
        day = first + timedelta(days=6 - first.weekday())
        while day < today:
            ends.append(day)
            day += timedelta(days=7)
    else:
        year, month = first.year, first.month
        while True:
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            end = date(year, month, 1) - timedelta(days=1)
            if end >= today:
                break
            ends.append(end)
    ends.append(today)
    return ends


def goal_data(session: Session, goal_id: int, lang: str, today: date) -> ChartData:
    goal = session.get(Goal, goal_id)
    assert goal is not None
    label = f"{goal.ref} {goal.title}"
    goal_ids = _goal_tree(session, goal_id)
    measures = session.execute(
        select(Measure.id, Measure.created_at, Measure.progress).where(
            Measure.goal_id.in_(goal_ids)
        )
    ).all()
    if not measures:
        raise NoChartData(t(lang, "charts.no_goal_measures", goal=label))
    zone = session_zone(session)
    reports: dict[int, list[tuple[date, int, int]]] = defaultdict(list)
    for measure_id, at, old, new in session.execute(
        select(
            StatusReport.measure_id,
            StatusReport.at,
            StatusReport.old_progress,
            StatusReport.new_progress,
        )
        .where(StatusReport.measure_id.in_([m.id for m in measures]))
        .order_by(StatusReport.measure_id, StatusReport.at, StatusReport.id)
    ):
        reports[measure_id].append((at.astimezone(zone).date(), old, new))
    created = {m.id: m.created_at.astimezone(zone).date() for m in measures}
    first = min(created.values())
    ends = _period_ends(min(first, today), today)
    points: list[tuple[date, float]] = []
    for end in ends:
        values: list[int] = []
        for measure_id, _created, progress in measures:
            if created[measure_id] > end:
                continue  # not there yet
            if end >= today:
                values.append(progress)
                continue
            history = reports.get(measure_id, [])
            value = history[0][1] if history else progress
            for on, _old, new in history:
                if on > end:
                    break
                value = new
            values.append(value)
        if values:
            points.append((end, sum(values) / len(values)))
    last_on, last = points[-1]
    n = plural(lang, "charts.measures", len(measures))
    if len(points) > 1:
        first_on, first_value = points[0]
        caption = t(
            lang,
            "charts.caption_goal",
            goal=label,
            measures=n,
            progress=fmt_number(round(last), lang),
            date=fmt_date(last_on, lang),
            first=fmt_number(round(first_value), lang),
            first_date=fmt_date(first_on, lang),
        )
    else:
        caption = t(
            lang,
            "charts.caption_goal_one",
            goal=label,
            measures=n,
            progress=fmt_number(round(last), lang),
            date=fmt_date(last_on, lang),
        )
    return ChartData(
        kind="goal",
        title=t(lang, "charts.title_goal", goal=goal.ref),
        caption=caption,
        ref=goal.ref,
        points=points,
        y_label=t(lang, "charts.axis_progress"),
    )


def _with_unit(value: float, unit: str, lang: str) -> str:
    number = fmt_number(round(value, 2), lang)
    return f"{number} {unit}".strip()


def indicator_data(session: Session, indicator_id: int, lang: str) -> ChartData:
    (track,) = indicator_tracks(session, indicator_ids=[indicator_id])
    label = f"{track.ref} {track.name}"
    if not track.points and track.target_value is None:
        raise NoChartData(t(lang, "charts.no_indicator_data", indicator=label))
    path = _target_path(track)
    target = (
        (track.target_date or (track.latest.on if track.latest else None), track.target_value)
        if track.target_value is not None
        else None
    )
    parts: list[str] = []
    latest = track.latest
    if latest is not None:
        parts.append(
            t(
                lang,
                "charts.indicator_latest",
                value=_with_unit(latest.value, track.unit, lang),
                date=fmt_date(latest.on, lang),
            )
        )
        expected = track.expected
        if expected is not None and track.baseline is not None:
            parts.append(
                t(
                    lang,
                    "charts.indicator_path",
                    value=_with_unit(track.rounded(expected), track.unit, lang),
                )
            )
    else:
        parts.append(t(lang, "charts.indicator_no_value"))
    if track.target_value is not None:
        parts.append(
            t(
                lang,
                "charts.indicator_target",
                value=_with_unit(track.target_value, track.unit, lang),
                date=fmt_date(track.target_date, lang),
            )
        )
    caption = t(lang, "charts.caption_indicator", indicator=label, figures="; ".join(parts))
    return ChartData(
        kind="indicator",
        title=t(lang, "charts.title_indicator", indicator=track.ref),
        caption=f"{caption} {track.marker}",
        ref=track.ref,
        points=[(p.on, p.value) for p in track.points],
        path=path,
        target=(target[0], target[1]) if target and target[0] and target[1] is not None else None,
        unit=track.unit,
        y_label=track.unit or track.name,
    )


def _target_path(track: IndicatorTrack) -> list[tuple[date, float]]:
    if (
        track.baseline is None
        or track.baseline_date is None
        or track.target_value is None
        or track.target_date is None
    ):
        return []
    return [(track.baseline_date, track.baseline), (track.target_date, track.target_value)]


# -- drawing ------------------------------------------------------------------------------------


def draw(data: ChartData, lang: str) -> Figure:
    from matplotlib.figure import Figure

    height = HEIGHT_IN
    if data.kind == "department":
        # One bar per goal with its label: taller the more goals it shows.
        height = max(HEIGHT_IN, 1.9 + 0.36 * len(data.labels))
    figure = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    if data.kind == "departments":
        _stacked(axes, data, lang, horizontal=False)
    elif data.kind == "department":
        _stacked(axes, data, lang, horizontal=True)
    else:
        _line(axes, data, lang)
    # Every text at FONT_PT or more, set here rather than through rcParams (global state).
    # Over the whole figure, from its left edge: a goal chart's labels push the Axes right.
    figure.suptitle(
        data.title, x=0.01, horizontalalignment="left", fontweight="bold", fontsize=TITLE_PT
    )
    axes.tick_params(labelsize=FONT_PT)
    axes.xaxis.label.set_fontsize(FONT_PT)
    axes.yaxis.label.set_fontsize(FONT_PT)
    return figure


def _stacked(axes: Axes, data: ChartData, lang: str, *, horizontal: bool) -> None:
    from matplotlib.ticker import MaxNLocator

    positions = list(range(len(data.labels)))
    base = [0] * len(positions)
    for status in STATUS_ORDER:
        values = data.counts.get(status, [])
        if not any(values):
            continue
        options = {
            "color": STATUS_COLOURS[status],
            "label": status_name(status, lang),
            "edgecolor": "white",
            "linewidth": 0.6,
        }
        if horizontal:
            axes.barh(positions, values, left=base, height=0.7, **options)  # type: ignore[arg-type]
        else:
            axes.bar(positions, values, bottom=base, width=0.7, **options)  # type: ignore[arg-type]
        base = [b + v for b, v in zip(base, values, strict=True)]
    if horizontal:
        axes.set_yticks(positions, data.labels)
        axes.invert_yaxis()  # the biggest goal on top
        axes.set_xlabel(data.y_label)
        axes.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        axes.grid(axis="x", color="#e5e7eb")
    else:
        axes.set_xticks(positions, data.labels)
        axes.set_ylabel(data.y_label)
        axes.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        axes.grid(axis="y", color="#e5e7eb")
    axes.set_axisbelow(True)
    axes.spines[["top", "right"]].set_visible(False)
    # Below the bars, in one row: the goals' labels need the width.
    shown = len([s for s in STATUS_ORDER if any(data.counts.get(s, []))])
    axes.figure.legend(
        loc="outside lower center",
        ncols=min(shown, 3),
        frameon=False,
        fontsize=FONT_PT,
        handlelength=1.2,
    )


EPOCH = date(1970, 1, 1)  # matplotlib's date numbers count days from it (its default epoch)


def _as_number(day: date) -> float:
    """A date as matplotlib's date number, at noon."""
    return (day - EPOCH).days + 0.5


def _as_date(number: float) -> date:
    return EPOCH + timedelta(days=int(number // 1))


def _line(axes: Axes, data: ChartData, lang: str) -> None:
    from matplotlib.dates import AutoDateLocator
    from matplotlib.ticker import FuncFormatter

    if data.path:
        axes.plot(
            [_as_number(d) for d, _v in data.path],
            [v for _d, v in data.path],
            linestyle="--",
            color=PATH_COLOUR,
            linewidth=1.4,
            label=t(lang, "charts.legend_path"),
        )
    if data.target is not None:
        on, value = data.target
        axes.plot(
            [_as_number(on)],
            [value],
            marker="*",
            markersize=14,
            linestyle="none",
            color=TARGET_COLOUR,
            label=t(lang, "charts.legend_target"),
            clip_on=False,  # the target date is the axis' end: the star is drawn whole
        )
    if data.points:
        axes.plot(
            [_as_number(d) for d, _v in data.points],
            [v for _d, v in data.points],
            marker="o",
            markersize=5,
            color=LINE_COLOUR,
            linewidth=2,
            label=t(lang, "charts.legend_values")
            if data.kind == "indicator"
            else t(lang, "charts.legend_progress"),
        )
    if data.kind == "goal":
        axes.set_ylim(0, 100)
    days = [d for d, _v in [*data.points, *data.path]] + ([data.target[0]] if data.target else [])
    if days and max(days) - min(days) < timedelta(days=14):
        # One week or a single point: a month around it, not years of empty axis.
        middle = min(days) + (max(days) - min(days)) / 2
        axes.set_xlim(
            _as_number(middle - timedelta(days=15)), _as_number(middle + timedelta(days=15))
        )
    locator = AutoDateLocator(minticks=3, maxticks=6)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: fmt_date(_as_date(x), lang)))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: fmt_number(round(y, 2), lang)))
    axes.set_ylabel(data.y_label)
    axes.grid(color="#e5e7eb")
    axes.set_axisbelow(True)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(loc="best", frameon=False, fontsize=FONT_PT)
    for label in axes.get_xticklabels():
        label.set_rotation(20)
        label.set_horizontalalignment("right")
