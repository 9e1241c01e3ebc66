"""Goal evaluation (Zielbewertung): `bewerten <ziel> erreicht|teilweise|nicht "<notiz>"`
records whether a goal's quality target is met; the next is due after the goal's evaluation
interval (handlers/monitoring.py `evaluation_states`)."""

from __future__ import annotations

from handlers.args import Args
from handlers.context import Context, UsageError
from handlers.core import Reply
from handlers.i18n import fmt_date, interval_name
from handlers.monitoring import EvaluationState, evaluation_states
from storage.lookup import Kind
from storage.models import Goal, GoalEvaluation, Verdict

# The verdict as typed: one word, or two (`nicht erreicht`, `not met`, `teilweise erreicht`).
VERDICT_WORDS: dict[tuple[str, ...], Verdict] = {
    ("erreicht",): Verdict.MET,
    ("met",): Verdict.MET,
    ("achieved",): Verdict.MET,
    ("teilweise",): Verdict.PARTLY,
    ("teilweise", "erreicht"): Verdict.PARTLY,
    ("partly",): Verdict.PARTLY,
    ("partly", "met"): Verdict.PARTLY,
    ("partially",): Verdict.PARTLY,
    ("nicht",): Verdict.NOT_MET,
    ("nicht", "erreicht"): Verdict.NOT_MET,
    ("not",): Verdict.NOT_MET,
    ("not", "met"): Verdict.NOT_MET,
}
VERDICT_NAMES = {
    Verdict.MET: "evaluation.verdict_met",
    Verdict.PARTLY: "evaluation.verdict_partly",
    Verdict.NOT_MET: "evaluation.verdict_not_met",
}
VERDICT_MARKERS = {Verdict.MET: "✅", Verdict.PARTLY: "🟡", Verdict.NOT_MET: "🔴"}


def _verdict_at(words: list[str], start: int) -> tuple[Verdict, int] | None:
    """The verdict starting at `words[start]` and how many words it takes (longest first)."""
    for length in (2, 1):
        typed = tuple(w.casefold() for w in words[start : start + length])
        if len(typed) == length and typed in VERDICT_WORDS:
            return VERDICT_WORDS[typed], length
    return None


def evaluate(ctx: Context, args: Args) -> Reply:
    if not args.words:
        raise UsageError()
    texts = [w.text if not w.quoted else "" for w in args.words]
    found = next(
        ((i, hit) for i in range(1, len(texts)) if (hit := _verdict_at(texts, i)) is not None),
        None,
    )
    if found is None:
        raise UsageError(ctx.t("evaluation.verdict_missing"))
    at, (verdict, length) = found
    reference = args.words[:at]
    match = ctx.resolve(
        " ".join(w.text for w in reference),
        [Kind.GOAL],
        start=reference[0].start,
        end=reference[-1].end,
    )
    goal = ctx.session.get(Goal, match.id)
    assert goal is not None
    note = " ".join(w.text for w in args.words[at + length :]).strip() or None
    incoming = ctx.incoming
    ctx.session.add(
        GoalEvaluation(
            goal_id=goal.id,
            verdict=verdict,
            note=note,
            person_id=ctx.person.id if ctx.person else None,
            at=ctx.now,
            origin_platform=incoming.platform,
            origin_room=incoming.room_id,
            origin_message_id=incoming.message_id,
        )
    )
    ctx.session.flush()
    ctx.audit("evaluate", "goal", goal.id, after={"verdict": verdict.value, "note": note})
    state = evaluation_states(ctx.session, [goal.id])[goal.id]
    lines = []
    if goal.quality_target:
        lines.append(ctx.t("goals.quality_target", target=goal.quality_target))
    if note:
        lines.append(ctx.t("evaluation.note", note=note))
    lines.append(next_due_line(ctx, goal, state))
    if state.needs_correction:
        lines.append(ctx.t("evaluation.correct_by_decision"))
    heading = ctx.t(
        "evaluation.recorded",
        marker=VERDICT_MARKERS[verdict],
        goal=goal.ref,
        title=goal.title,
        verdict=ctx.t(VERDICT_NAMES[verdict]),
        date=fmt_date(ctx.today, ctx.lang),
    )
    return Reply.text(*lines, heading=heading)


def next_due_line(ctx: Context, goal: Goal, state: EvaluationState) -> str:
    """When the next evaluation is due, or that the goal has no interval."""
    if state.due_on is None or not goal.evaluation_interval:
        return ctx.t("evaluation.no_interval", goal=goal.ref)
    interval = interval_name(goal.evaluation_interval, ctx.lang)
    due = fmt_date(state.due_on, ctx.lang)
    if state.is_due(ctx.today):
        return ctx.t("evaluation.overdue", date=due, interval=interval)
    return ctx.t("evaluation.next_due", date=due, interval=interval)


def evaluation_lines(ctx: Context, goal: Goal, state: EvaluationState) -> list[str]:
    """The goal detail's lines: the latest evaluation, and when the next is due."""
    lines = []
    if state.verdict is None:
        lines.append(ctx.t("evaluation.none_yet"))
    else:
        line = ctx.t(
            "evaluation.latest",
            marker=VERDICT_MARKERS[state.verdict],
            verdict=ctx.t(VERDICT_NAMES[state.verdict]),
            date=fmt_date(state.evaluated_on, ctx.lang),
        )
        lines.append(f"{line}: {state.note}" if state.note else line)
    lines.append(next_due_line(ctx, goal, state))
    return lines
