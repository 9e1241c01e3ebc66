"""People at once, on SQLite and PostgreSQL: no lost update, no deadlock, every refusal told.

Two coordinators type changes to one measure at the same moment (both apply, one after the
other, both audited); a button pressed on an old message while someone reports is refused with
what changed, or applies when it came first; an import runs while staff report on its
measures, and an import confirmed in chat while someone reports on the same field is applied
or shown again as a new preview; the reminder sweep runs while coordinators edit. Each person
types from their own thread, released together by a barrier, against the dispatcher the
platforms call.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from conftest import Chat, FixedClock
from sqlalchemy import Engine, select
from test_plan_import import PLAN, apply, edited, measures, set_up, xlsx
from test_reminders_support import Recorder, berlin

from bot.bootstrap import App
from bot.reminders import run_due
from handlers.core import Incoming, Reply
from storage.models import AuditEntry, Measure, OutboxEntry, OutboxState

T = TypeVar("T")


def at_once(*calls: Callable[[], T]) -> list[T]:
    """Each call in its own thread, released together; their results, in the order given.
    An exception in a thread fails the test; a thread still waiting after 120 s is a deadlock."""
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait(timeout=60)
            results[i] = calls[i]()
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "deadlock: a thread still waits"
    if errors:
        raise errors[0]
    return results


def state(app: App, measure_id: int) -> tuple[Any, ...]:
    with app.uows() as uow:
        m = uow.session.get(Measure, measure_id)
        assert m is not None
        return (
            m.version,
            m.deadline,
            m.responsible.name if m.responsible else None,
            m.progress,
        )


def audited(app: App, measure_id: int, after_id: int = 0) -> list[tuple[Any, ...]]:
    """(action, entity_version, actor) of the measure's audit entries, in the order written."""
    with app.uows() as uow:
        return [
            tuple(row)
            for row in uow.session.execute(
                select(AuditEntry.action, AuditEntry.entity_version, AuditEntry.actor)
                .where(
                    AuditEntry.entity_kind == "measure",
                    AuditEntry.entity_id == measure_id,
                    AuditEntry.id > after_id,
                )
                .order_by(AuditEntry.id)
            )
        ]


def last_audit(app: App) -> int:
    with app.uows() as uow:
        return max(uow.session.execute(select(AuditEntry.id)).scalars(), default=0)


def test_two_coordinators_change_one_measure_at_once_and_both_changes_apply_in_order(
    app: App,
) -> None:
    anna = Chat(app, "Anna Schmidt", "koordination")
    jonas = Chat(app, "Jonas Weber", "koordination")
    version, *_ = state(app, 1)
    since = last_audit(app)
    people = ["Julia Richter", "Markus Becker", "Julia Richter"]
    for n, person in enumerate(people):
        replies = at_once(
            lambda n=n: anna.reply(f"frist M-1 {10 + n}.03.2027 Runde {n}"),
            lambda person=person: jonas.reply(f"zuweisen M-1 an {person}"),
        )
        assert [r.outcome for r in replies] == ["ok", "ok"], [r.plain() for r in replies]
    # Both people's changes are there: the last deadline and the last assignment.
    assert state(app, 1)[:3] == (version + 2 * len(people), date(2027, 3, 12), "Julia Richter")
    entries = audited(app, 1, since)
    # Six changes, each audited once, each on the version the one before it left.
    assert sorted(action for action, _v, _a in entries) == ["assign"] * 3 + ["deadline"] * 3
    assert [v for _action, v, _a in entries] == list(range(version + 1, version + 7))
    assert {actor for _action, _v, actor in entries} == {
        "console:Anna Schmidt",
        "console:Jonas Weber",
    }


def test_a_button_on_an_old_message_pressed_while_someone_reports_is_refused_with_what_changed(
    app: App,
) -> None:
    anna = Chat(app, "Anna Schmidt", "koordination")
    markus = Chat(app, "Markus Becker", "jugendamt")
    for n in range(4):
        shown = anna.reply("status M-1")
        assert shown.subject is not None
        version, deadline, *_ = state(app, 1)
        assert shown.subject.version == version
        report, button = at_once(
            lambda n=n: markus.reply(f"melden M-1 {50 + n}% Runde {n}"),
            lambda n=n, shown=shown: anna.reply(
                f"frist M-1 2{n}.04.2027 Runde {n}", shown=shown.subject
            ),
        )
        # The typed report applies to the measure as it is, whatever came first.
        assert report.outcome == "ok", report.plain()
        assert report.plain().startswith("Bericht zu M-1 gespeichert")
        now = state(app, 1)
        if button.outcome == "refused":
            # The report came first: the button's change is refused, and says what changed.
            lines = button.plain().splitlines()
            assert lines[0] == (
                f"M-1 wurde geändert, seit diese Nachricht sie gezeigt hat (Version {version} → "
                f"{version + 1}). Es wurde nichts geändert:"
            )
            assert lines[1].startswith("• 27.11. 10:00 Markus Becker: ")
            assert lines[1].endswith(f"(„Runde {n}“)")
            assert now[:2] == (version + 1, deadline)
        else:
            # The button came first: both apply, the report on the changed measure.
            assert button.outcome == "ok", button.plain()
            assert now[:2] == (version + 2, date(2027, 4, 20 + n))
        assert now[3] == 50 + n  # the report is never lost
    # Once more, the report surely first: refused, and told so.
    shown = anna.reply("status M-1")
    assert shown.subject is not None
    markus.say("melden M-1 90% Runde danach")
    late = anna.reply("frist M-1 30.04.2027 zu spät", shown=shown.subject)
    assert late.outcome == "refused"
    assert "Markus Becker: Fortschritt 53 % → 90 % („Runde danach“)" in late.plain()


def test_an_import_while_staff_report_keeps_every_report_and_every_file_change(
    engine: Engine, clock: FixedClock
) -> None:
    app = set_up(engine, clock)
    assert apply(app, xlsx(PLAN), "plan.xlsx").applied
    before = measures(app)
    kitas, schoolyards = before["1.1"], before["2.1"]
    since = last_audit(app)
    # The file moves both deadlines (nobody changed them in chat: no conflict).
    rows = edited(PLAN, 1, "Frist", date(2027, 4, 30))
    rows = edited(rows, 3, "Frist", date(2027, 10, 31))
    data = xlsx(rows)
    max_, lea = Chat(app, "Max"), Chat(app, "Lea")
    reports = 4

    def report(chat: Chat, ref: str, base: int) -> list[Reply]:
        return [chat.reply(f"melden {ref} {base + 5 * n}% Stand {n}") for n in range(reports)]

    outcome, max_replies, lea_replies = at_once(
        lambda: apply(app, data, "plan-v2.xlsx"),
        lambda: report(max_, kitas.ref, 40),
        lambda: report(lea, schoolyards.ref, 20),
    )
    assert outcome.applied
    assert [r.outcome for r in max_replies + lea_replies] == ["ok"] * 2 * reports, [
        r.plain() for r in max_replies + lea_replies
    ]
    after = measures(app)
    # The file's deadlines and the last reports, together: nothing was overwritten.
    assert (after["1.1"].deadline, after["1.1"].progress) == (date(2027, 4, 30), 55)
    assert (after["2.1"].deadline, after["2.1"].progress) == (date(2027, 10, 31), 35)
    for key, measure in (("1.1", kitas), ("2.1", schoolyards)):
        assert after[key].version == measure.version + reports + 1
        entries = audited(app, measure.id, since)
        assert [v for _action, v, _actor in entries] == list(
            range(measure.version + 1, measure.version + reports + 2)
        ), key
        assert sorted(a for a, _v, _actor in entries).count("report") == reports
    assert after["1.2"].version == before["1.2"].version  # unchanged in the file


def test_the_reminder_sweep_during_edits_loses_no_edit_and_no_reminder(app: App) -> None:
    anna = Chat(app, "Anna Schmidt", "koordination")
    markus = Chat(app, "Markus Becker", "jugendamt")
    recorder = Recorder()
    versions = {ref: state(app, ref)[0] for ref in (1, 8, 13)}
    moments = [berlin(2026, 11, 30, 8, minute) for minute in range(0, 3)]

    def sweeps() -> list[Any]:
        return [asyncio.run(run_due(app, {"console": recorder}, at)) for at in moments]

    def edits() -> list[Reply]:
        return [
            anna.reply("frist M-13 31.01.2027 Fachkraft zurück"),
            markus.reply("melden M-1 85% Träger gefunden"),
            anna.reply("zuweisen M-8 an Julia Richter"),
            markus.reply("melden M-13 40%"),
            anna.reply("frist M-1 15.12.2026 früher"),
        ]

    results, replies = at_once(sweeps, edits)
    assert [r.outcome for r in replies] == ["ok"] * 5, [r.plain() for r in replies]
    assert all(result is not None for result in results)
    assert {ref: state(app, ref)[0] for ref in versions} == {
        1: versions[1] + 2,
        8: versions[8] + 1,
        13: versions[13] + 2,
    }
    assert state(app, 1)[1] == date(2026, 12, 15)
    assert state(app, 1)[3] == 85
    assert state(app, 8)[2] == "Julia Richter"
    with app.uows() as uow:
        outbox = list(uow.session.execute(select(OutboxEntry)).scalars())
        uow.session.expunge_all()
    assert outbox, "the Monday sweep decides reminders"
    # A reminder names the version it was decided on; none is from the future.
    for entry in outbox:
        if entry.measure_id in versions and entry.measure_version is not None:
            assert entry.measure_version <= state(app, entry.measure_id)[0]
    # Each reminder went out once (the three sweeps overlap in nothing).
    keys = [sent.key for sent in recorder.sent]
    assert keys and len(keys) == len(set(keys))
    # None is left half-done: every entry is sent, or was overtaken by an edit.
    assert {entry.state for entry in outbox} <= {OutboxState.SENT, OutboxState.SUPERSEDED}


def test_an_import_confirmed_in_chat_while_someone_reports_is_applied_or_shown_again(
    engine: Engine, clock: FixedClock
) -> None:
    """The confirmation and a report on the same field at the same moment: the report always
    counts; the confirmation applies when it came first, else it is refused with the new
    preview (the file's value now a conflict) and nothing of the file is taken."""
    app = set_up(engine, clock)
    assert apply(app, xlsx(PLAN), "plan.xlsx").applied
    clara = Chat(app, "Clara")
    # One round per measure, each reported on by someone of its department.
    for n, (row, key, reporter) in enumerate(
        [(1, "1.1", "Max"), (2, "1.2", "Max"), (3, "2.1", "Lea")]
    ):
        ref = measures(app)[key].ref
        # The file raises the measure's progress; the preview says so.
        data = xlsx(edited(PLAN, row, "Fortschritt (%)", 60 + n))
        incoming = Incoming("console", "konsole", "Clara", "import", message_id=f"file-{n}")
        shown = app.conversation.received_file(incoming, f"plan-{n}.xlsx", data, size=len(data))
        assert shown is not None
        assert f"{ref} Fortschritt: " in shown.plain(), shown.plain()
        report, confirmation = at_once(
            lambda ref=ref, reporter=reporter, n=n: Chat(app, reporter).reply(
                f"melden {ref} {41 + n}% Stand {n}"
            ),
            lambda: clara.reply("import bestätigen"),
        )
        assert report.outcome == "ok", report.plain()
        if confirmation.outcome == "refused":
            # The report came first: the file's value is a conflict now; told, with the new
            # preview, which waits for its own confirmation.
            assert confirmation.plain().startswith(
                "Seit der Vorschau haben sich die Daten geändert; nichts übernommen."
            ), confirmation.plain()
            assert "Konflikt" in confirmation.plain()
            assert measures(app)[key].progress == 41 + n
            assert clara.reply("import bestätigen").outcome == "ok"
        else:
            assert confirmation.outcome == "ok", confirmation.plain()
            assert confirmation.plain().startswith(f"Import „plan-{n}.xlsx“ übernommen")
        # Either way the report is the measure's progress: the file never overwrote it.
        assert measures(app)[key].progress == 41 + n
