"""The goal tree: ziele (tree with aggregated progress), ziel (one goal), ziel neu."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from handlers.args import Args, split_list
from handlers.catalogs import Catalog, entry_for_goal
from handlers.context import Context, UsageError
from handlers.core import Reply
from handlers.evaluation import evaluation_lines
from handlers.i18n import interval_name
from handlers.monitoring import evaluation_states, indicator_tracks
from handlers.views import LIST_LIMIT, cut, indicator_line, measure_line
from storage.intervals import parse_interval
from storage.lookup import Kind
from storage.models import FieldOfAction, Goal, Measure, MeasureStatus, Trend

GOAL_OPTIONS = {
    "oberziel": "parent",
    "parent": "parent",
    "handlungsfeld": "field",
    "field": "field",
    "trends": "trends",
    "trend": "trends",
    "intervall": "interval",
    "interval": "interval",
    "qualitätsziel": "quality",
    "qualitaetsziel": "quality",
    "quality": "quality",
}
# The levels of the goal tree. Fields of action (Handlungsfelder) are topics from the
# catalog, not a level: a goal of any level may have one.
LEVEL_NAMES = {1: "goals.level_guiding", 2: "goals.level_goal", 3: "goals.level_sub_goal"}


def _progress_by_goal(ctx: Context) -> dict[int, tuple[int, int]]:
    """(sum of progress, count) of the measures directly under each goal, cancelled left out."""
    rows = ctx.session.execute(
        select(Measure.goal_id, func.sum(Measure.progress), func.count())
        .where(Measure.goal_id.is_not(None), Measure.status != MeasureStatus.CANCELLED)
        .group_by(Measure.goal_id)
    )
    return {goal_id: (int(total or 0), int(count)) for goal_id, total, count in rows}


def _rolled_up(goals: list[Goal], direct: dict[int, tuple[int, int]]) -> dict[int, tuple[int, int]]:
    children: dict[int | None, list[Goal]] = defaultdict(list)
    for goal in goals:
        children[goal.parent_id].append(goal)
    totals: dict[int, tuple[int, int]] = {}

    def visit(goal: Goal) -> tuple[int, int]:
        total, count = direct.get(goal.id, (0, 0))
        for child in children[goal.id]:
            child_total, child_count = visit(child)
            total, count = total + child_total, count + child_count
        totals[goal.id] = (total, count)
        return total, count

    for root in children[None]:
        visit(root)
    return totals


def goals(ctx: Context, args: Args) -> Reply:
    all_goals = ctx.session.execute(select(Goal).order_by(Goal.id)).scalars().all()
    if not all_goals:
        return Reply.text(ctx.t("goals.none_yet"))
    totals = _rolled_up(list(all_goals), _progress_by_goal(ctx))
    children: dict[int | None, list[Goal]] = defaultdict(list)
    for goal in all_goals:
        children[goal.parent_id].append(goal)
    lines: list[str] = []

    def walk(goal: Goal, depth: int) -> None:
        total, count = totals.get(goal.id, (0, 0))
        progress = f"{round(total / count)} %" if count else "–"
        measures = ctx.t("goals.tree_measures", n=count)
        lines.append(
            f"{'  ' * depth}{'▸' if depth < 2 else '•'} {goal.ref} {goal.title} — "
            f"{progress}, {measures}"
        )
        for child in children[goal.id]:
            walk(child, depth + 1)

    for root in children[None]:
        walk(root, 0)
    return Reply.text(*lines, heading=ctx.t("goals.tree_heading"))


def goal(ctx: Context, args: Args) -> Reply:
    if not args.words:
        raise UsageError()
    text = " ".join(w.text for w in args.words)
    match = ctx.resolve(text, [Kind.GOAL], start=args.words[0].start, end=args.words[-1].end)
    return goal_detail(ctx, match.id)


def _level(goal: Goal) -> int:
    level, parent = 1, goal.parent
    while parent is not None:
        level, parent = level + 1, parent.parent
    return level


def goal_detail(ctx: Context, goal_id: int) -> Reply:
    goal = ctx.session.execute(
        select(Goal)
        .where(Goal.id == goal_id)
        .options(selectinload(Goal.children), selectinload(Goal.trends))
    ).scalar_one()
    level = min(_level(goal), 3)
    kind = ctx.t(LEVEL_NAMES[level])
    all_goals = ctx.session.execute(select(Goal)).scalars().all()
    total, count = _rolled_up(list(all_goals), _progress_by_goal(ctx)).get(goal.id, (0, 0))
    lines = []
    meta = [kind]
    if goal.parent is not None:
        meta.append(ctx.t("goals.under", parent=goal.parent.ref))
    if goal.field_of_action is not None:
        meta.append(_entry_name(ctx, goal.field_of_action))
    if goal.trends:
        meta.append(
            ctx.t("goals.trends_inline", trends=", ".join(_entry_name(ctx, t) for t in goal.trends))
        )
    lines.append(" · ".join(meta))
    if goal.quality_target:
        lines.append(ctx.t("goals.quality_target", target=goal.quality_target))
    progress = f"{round(total / count)} %" if count else "–"
    lines.append(ctx.plural("goals.progress", count, progress=progress))
    if goal.evaluation_interval:
        lines.append(
            ctx.t("goals.interval", interval=interval_name(goal.evaluation_interval, ctx.lang))
        )
    reply = Reply.text(*lines, heading=f"🎯 {goal.ref} {goal.title}")
    if goal.children:
        reply.add(
            *[f"▸ {c.ref} {c.title}" for c in goal.children],
            heading=ctx.t("goals.children_heading"),
        )
    measures = (
        ctx.session.execute(
            select(Measure)
            .where(Measure.goal_id == goal.id)
            .order_by(
                Measure.status.in_([MeasureStatus.DONE, MeasureStatus.CANCELLED]),
                Measure.deadline,
                Measure.id,
            )
        )
        .scalars()
        .all()
    )
    if measures:
        measure_lines = [measure_line(m, ctx.today, ctx.lang) for m in measures[:LIST_LIMIT]]
        reply.add(
            *cut(
                measure_lines, len(measures), ctx.lang, ctx.t("goals.measures_more", goal=goal.ref)
            ),
            heading=ctx.t("goals.measures_heading", n=len(measures)),
        )
    tracks = indicator_tracks(ctx.session, goal_ids=[goal.id])
    if tracks:
        reply.add(
            *[indicator_line(track, ctx.lang) for track in tracks],
            heading=ctx.t("goals.indicators_heading"),
        )
    state = evaluation_states(ctx.session, [goal.id])[goal.id]
    if state.verdict is not None or goal.evaluation_interval:
        reply.add(*evaluation_lines(ctx, goal, state), heading=ctx.t("evaluation.heading"))
    return reply


def new_goal(ctx: Context, args: Args) -> Reply:
    ctx.take_option_words(
        args,
        {"parent": [Kind.GOAL], "field": [Kind.FIELD], "trends": [Kind.TREND]},
        lists=("trends",),
    )
    ctx.refuse_stray_words(args)
    if not args.words:
        raise UsageError(ctx.t("common.title_missing"))
    title = " ".join(w.text for w in args.words)
    goal = Goal(title=title, created_at=ctx.now)
    options = args.options
    if "parent" in options:
        token = options["parent"]
        parent = ctx.session.get(
            Goal, ctx.resolve(token.text, [Kind.GOAL], start=token.start, end=token.end).id
        )
        if parent is not None and _level(parent) >= 3:
            raise UsageError(ctx.t("goals.parent_too_deep", parent=parent.ref))
        goal.parent = parent
    # The new goal sits in its parent's children before it is added: no autoflush until then.
    with ctx.session.no_autoflush:
        if "field" in options:
            field = entry_for_goal(ctx, Catalog.FIELD, options["field"])
            assert isinstance(field, FieldOfAction)
            goal.field_of_action = field
        elif goal.parent is not None:
            inherited = goal.parent.field_of_action
            # Inherited like a named one: a retired field of action is not given to new goals.
            if inherited is not None and inherited.retired_at is None:
                goal.field_of_action = inherited
        if "trends" in options:
            for part in split_list(options["trends"]):
                trend = entry_for_goal(ctx, Catalog.TREND, part)
                assert isinstance(trend, Trend)
                # `trends:Klima,Klimawandel` names one trend twice: it is on the goal once.
                if trend not in goal.trends:
                    goal.trends.append(trend)
    if "interval" in options:
        interval = parse_interval(options["interval"].text)
        if interval is None:
            raise UsageError(ctx.t("common.interval_unknown"))
        goal.evaluation_interval = interval
    if "quality" in options:
        goal.quality_target = options["quality"].text
    ctx.session.add(goal)
    ctx.session.flush()
    ctx.audit(
        "create",
        "goal",
        goal.id,
        after={
            "title": title,
            "parent": goal.parent.ref if goal.parent else None,
            "field_of_action": goal.field_of_action.name if goal.field_of_action else None,
            "trends": [trend.name for trend in goal.trends],
            "evaluation_interval": goal.evaluation_interval,
            "quality_target": goal.quality_target,
        },
    )
    kind = ctx.t(LEVEL_NAMES[min(_level(goal), 3)])
    lines = [f"{kind}: {goal.title}"]
    if goal.parent is not None:
        lines.append(ctx.t("goals.parent", parent=goal.parent.ref, title=goal.parent.title))
    if goal.field_of_action is not None:
        lines.append(ctx.t("goals.field", field=goal.field_of_action.name))
    if goal.trends:
        lines.append(ctx.t("goals.trends", trends=", ".join(t.name for t in goal.trends)))
    return Reply.text(*lines, heading=ctx.t("goals.created", goal=goal.ref))


def _entry_name(ctx: Context, entry: FieldOfAction | Trend) -> str:
    """A catalog entry as a goal shows it: retired ones stay, marked."""
    if entry.retired_at is None:
        return entry.name
    return entry.name + ctx.t("common.retired_marker")
