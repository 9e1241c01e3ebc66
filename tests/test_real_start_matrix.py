"""A real start on Matrix: an empty database set up on the command line with the Matrix ids
of people on a real Synapse (tests/synapse.py), then `regelkreis run` and people typing
`!commands` in their rooms (the harness of tests/test_matrix.py).

The coordinator creates a goal with a field of action and a measure, a department member
reports, the coordinator assigns; each reply as the user's client receives it, and the
database after it.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nio
import pytest
from sqlalchemy import select

from bot.bootstrap import App, bootstrap
from bot.config import load_config
from schedules.delivery import deliver_due
from storage.migrate import head_revision
from storage.models import (
    AuditEntry,
    Goal,
    Measure,
    MeasureStatus,
    OutboxEntry,
    RoomLink,
    StatusReport,
)
from tests.conftest import FixedClock
from tests.synapse import Account, Synapse, synapse  # noqa: F401  (the session fixture)
from tests.test_matrix import Setup, User, running_bot
from tests.test_real_start import cli

HEAD = head_revision()  # the revision `db upgrade` names

CLARA = "@clara.koch:musterstadt.de"  # koordination, admin (made on the command line)
MAX = "@max.mueller:musterstadt.de"  # ressort, Jugendamt
RITA = "@rita.roth:musterstadt.de"  # lesen
_bots = itertools.count(1)


@pytest.fixture(scope="session")
def accounts(synapse: Synapse) -> dict[str, Account]:  # noqa: F811
    """The municipality's people on the homeserver, registered once per session."""
    return {user_id: synapse.register(user_id[1:].split(":")[0]) for user_id in (CLARA, MAX, RITA)}


@dataclass
class Town(Setup):
    """test_matrix's Setup (bot account, app, people) and the operator's configuration file."""

    config_file: Path


@pytest.fixture
def town(
    synapse: Synapse,  # noqa: F811
    accounts: dict[str, Account],
    tmp_path: Path,
) -> Iterator[Town]:
    """The operator's configuration and an empty database, set up on the command line."""
    bot = synapse.register(f"realstart{next(_bots)}")
    config_file = tmp_path / "regelkreis.toml"
    config_file.write_text(
        "[bot]\n"
        f'data_dir = "{tmp_path / "data"}"\n'
        "\n[matrix]\n"
        f'homeserver = "{synapse.url}"\n'
        f'user_id = "{bot.user_id}"\n'
        # No allowed_inviters: Clara invites the bot as the admin the command line made.
        f'password = "{bot.password}"\n',
        encoding="utf-8",
    )
    for args, said in [
        (
            ("db", "upgrade"),
            f"Database schema created (revision {HEAD}) in "
            f"sqlite:///{(tmp_path / 'data' / 'regelkreis.db').resolve()}.\n",
        ),
        (
            ("ressort", "add", "JA", "Jugendamt", "--alias", "Amt 51", "--alias", "Jugend"),
            "Jugendamt (JA) created.\n",
        ),
        (("ressort", "add", "SA", "Schulamt", "--alias", "Amt 40"), "Schulamt (SA) created.\n"),
        (("ressort", "add", "SP", "Stadtplanung"), "Stadtplanung (SP) created.\n"),
        (
            (
                "person",
                "add",
                "Clara Koch",
                "--rolle",
                "koordination",
                "--admin",
                "--matrix",
                CLARA,
            ),
            f"Clara Koch registered (koordination; matrix:{CLARA}).\n",
        ),
        (
            (
                "person",
                "add",
                "Max Müller",
                "--ressort",
                "JA",
                "--rolle",
                "ressort",
                "--matrix",
                MAX,
            ),
            f"Max Müller registered (ressort; matrix:{MAX}).\n",
        ),
        (
            ("person", "add", "Rita Roth", "--rolle", "lesen", "--matrix", RITA),
            f"Rita Roth registered (lesen; matrix:{RITA}).\n",
        ),
    ]:
        assert cli(config_file, *args) == (0, said, ""), args
    app = bootstrap(load_config(config_file), clock=FixedClock())
    yield Town(synapse, accounts, app, app.config, bot, tmp_path, app.engine, config_file)
    app.engine.dispose()


def link_rooms(town: Town, jugendamt: str, coordination: str) -> None:
    """The operator links the rooms Clara made (their ids are known once they exist)."""
    config_file = town.config_file
    assert cli(config_file, "ressort", "link", "JA", "--matrix", jugendamt) == (
        0,
        f"matrix:{jugendamt} linked to Jugendamt (JA).\n",
        "",
    )
    assert cli(config_file, "room", "coordination", "--matrix", coordination) == (
        0,
        f"matrix:{coordination} is the coordination room.\n",
        "",
    )


def state(app: App) -> dict[str, Any]:
    with app.uows() as uow:
        session = uow.session
        goals = session.execute(select(Goal).order_by(Goal.id)).scalars().all()
        measures = session.execute(select(Measure).order_by(Measure.id)).scalars().all()
        reports = session.execute(select(StatusReport).order_by(StatusReport.id)).scalars().all()
        audits = session.execute(
            select(AuditEntry).where(AuditEntry.origin_platform != "cli").order_by(AuditEntry.id)
        ).scalars()
        outbox = session.execute(select(OutboxEntry).order_by(OutboxEntry.id)).scalars().all()
        return {
            "goals": [
                (g.ref, g.title, g.field_of_action.name if g.field_of_action else None)
                for g in goals
            ],
            "measures": [
                (
                    m.ref,
                    m.title,
                    m.lead_department.key,
                    [d.key for d in m.participants],
                    m.responsible.name if m.responsible else None,
                    m.goal.ref if m.goal else None,
                    m.status,
                    m.progress,
                    m.version,
                )
                for m in measures
            ],
            "reports": [
                (
                    r.person.name if r.person else None,
                    r.new_status,
                    r.new_progress,
                    r.note,
                    r.origin_platform,
                    r.origin_room,
                    r.origin_message_id,
                )
                for r in reports
            ],
            "audits": [
                (
                    a.actor,
                    a.action,
                    a.entity_kind,
                    a.origin_platform,
                    a.origin_room,
                    a.origin_message_id,
                )
                for a in audits
            ],
            "outbox": [
                (o.kind, o.person.name if o.person else None, o.state.value, o.delivered_to)
                for o in outbox
            ],
        }


async def new_room(user: User, invite: list[str]) -> str:
    """A room as Synapse makes it by default (version 12: `!<opaque id>`, no `:server`)."""
    answer = await user.client.room_create(invite=invite)
    assert isinstance(answer, nio.RoomCreateResponse), answer
    return str(answer.room_id)


def test_the_first_goal_measure_report_and_assignment_on_matrix(town: Town) -> None:
    app = town.app
    seen: dict[str, Any] = {}

    async def scenario() -> None:
        async with User(town, CLARA) as clara, User(town, MAX) as max_, User(town, RITA) as rita:
            bot = town.bot.user_id
            # Clara makes the Jugendamt's room and the coordination room and invites the bot
            # (she is an allowed inviter); the operator links them, then starts the bot.
            jugendamt = await new_room(clara, [bot, MAX])
            coordination = await new_room(clara, [bot, RITA])
            seen["rooms"] = (jugendamt, coordination)
            link_rooms(town, jugendamt, coordination)
            async with running_bot(town) as transport:
                await max_.join(jugendamt)
                await rita.join(coordination)
                await clara.wait_joined(jugendamt, bot, MAX)
                await clara.wait_joined(coordination, bot, RITA)

                # A goal with a field of action from the catalog every database has.
                goal_id = await clara.say(
                    coordination, '!ziel neu "Bildungsgerechtigkeit" handlungsfeld:Bildung'
                )
                goal = await clara.answer_to(coordination, goal_id)
                assert goal.body == (
                    "Angelegt: Z-1\nLeitziel: Bildungsgerechtigkeit\nHandlungsfeld: Bildung"
                )
                assert goal.formatted_body == (
                    "<p><strong>Angelegt: Z-1</strong><br>Leitziel: Bildungsgerechtigkeit<br>"
                    "Handlungsfeld: Bildung</p>"
                )
                assert goal.source["content"]["msgtype"] == "m.notice"
                assert (goal.source["content"]["m.relates_to"]["m.in_reply_to"]) == {
                    "event_id": goal_id
                }
                seen["goal"] = (state(app), goal_id)

                measure_id = await clara.say(
                    coordination,
                    '!neu "Sprachcafé für Eltern" ressort:JA ziel:Z-1 frist:31.03.2027 '
                    "beteiligt:SA",
                )
                measure = await clara.answer_to(coordination, measure_id)
                assert measure.body == (
                    "Angelegt: M-1\n⚪ M-1 Sprachcafé für Eltern — JA, 0 %, Frist 31.03.2027"
                )
                seen["measure"] = (state(app), measure_id)

                report_id = await max_.say(
                    jugendamt, "!melden M-1 laufend 30% Raum im Familienzentrum gefunden"
                )
                reported = await max_.answer_to(jugendamt, report_id)
                assert reported.body == "\n".join(
                    [
                        "Bericht zu M-1 gespeichert",
                        "🟢 M-1 Sprachcafé für Eltern — JA, 30 %, Frist 31.03.2027",
                        "„Raum im Familienzentrum gefunden“",
                    ]
                )
                assert reported.formatted_body == (
                    "<p><strong>Bericht zu M-1 gespeichert</strong><br>🟢 M-1 Sprachcafé für "
                    "Eltern — JA, 30 %, Frist 31.03.2027<br>„Raum im Familienzentrum gefunden“</p>"
                )
                seen["report"] = (state(app), report_id)

                # A reader is refused, with the role; nothing changes.
                assert await rita.ask(coordination, "!melden M-1 50%") == (
                    "„melden“ dürfen nur Personen mit der Rolle koordination oder ressort. "
                    "Ihre Rolle: lesen."
                )
                seen["refused"] = state(app)

                assign_id = await clara.say(coordination, '!zuweisen M-1 an "Max Müller"')
                assigned = await clara.answer_to(coordination, assign_id)
                assert assigned.body == "\n".join(
                    [
                        "M-1 → Max Müller",
                        "🟢 M-1 Sprachcafé für Eltern — JA, 30 %, Frist 31.03.2027",
                        "Benachrichtigung ist unterwegs.",
                    ]
                )
                seen["assign"] = (state(app), assign_id)

                # The notice reaches Max in a direct room the bot opens for it.
                delivered = await deliver_due(app.uows, {"matrix": transport.notifier}, app.clock())
                assert delivered == 1
                direct = None
                for _ in range(50):
                    direct = next(iter(max_.client.invited_rooms), None)
                    if direct is not None:
                        break
                    await max_.sync(timeout=200)
                assert direct is not None, "no direct room for the notice"
                await max_.join(direct)
                notices: list[Any] = []
                for _ in range(50):
                    notices = await max_.bot_messages(direct)
                    if notices:
                        break
                assert [n.body for n in notices] == [
                    "\n".join(
                        [
                            "📌 Ihnen wurde M-1 zugewiesen (von Clara Koch):",
                            "🟢 M-1 Sprachcafé für Eltern — JA, 30 %, Frist 31.03.2027",
                            "Bericht mit: melden M-1 <status> <NN%> <notiz>",
                            "",
                            "↳ ✅ erledigt · 🟢 läuft · 🟡 verzögert",
                        ]
                    )
                ]
                seen["delivered"] = state(app)

    asyncio.run(scenario())

    jugendamt, coordination = seen["rooms"]
    clara_did = (f"matrix:{CLARA}", "matrix", coordination)
    after_goal, goal_id = seen["goal"]
    assert after_goal["goals"] == [("Z-1", "Bildungsgerechtigkeit", "Bildung")]
    assert after_goal["measures"] == []
    assert after_goal["audits"] == [(clara_did[0], "create", "goal", *clara_did[1:], goal_id)]

    after_measure, measure_id = seen["measure"]
    planned = ("M-1", "Sprachcafé für Eltern", "JA", ["SA"], None, "Z-1")
    assert after_measure["measures"] == [(*planned, MeasureStatus.PLANNED, 0, 1)]
    assert after_measure["audits"][-1] == (
        clara_did[0],
        "create",
        "measure",
        *clara_did[1:],
        measure_id,
    )
    assert after_measure["outbox"] == []

    after_report, report_id = seen["report"]
    assert after_report["measures"] == [(*planned, MeasureStatus.IN_PROGRESS, 30, 2)]
    assert after_report["reports"] == [
        (
            "Max Müller",
            "laufend",
            30,
            "Raum im Familienzentrum gefunden",
            "matrix",
            jugendamt,
            report_id,
        )
    ]
    assert after_report["audits"][-1] == (
        f"matrix:{MAX}",
        "report",
        "measure",
        "matrix",
        jugendamt,
        report_id,
    )
    assert seen["refused"] == after_report

    after_assign, assign_id = seen["assign"]
    responsible = ("M-1", "Sprachcafé für Eltern", "JA", ["SA"], "Max Müller", "Z-1")
    assert after_assign["measures"] == [(*responsible, MeasureStatus.IN_PROGRESS, 30, 3)]
    assert after_assign["audits"][-1] == (
        clara_did[0],
        "assign",
        "measure",
        *clara_did[1:],
        assign_id,
    )
    assert after_assign["outbox"] == [("assignment", "Max Müller", "pending", None)]
    assert seen["delivered"]["outbox"] == [
        ("assignment", "Max Müller", "sent", f"Max Müller (matrix:{MAX})")
    ]
    with app.uows() as uow:
        assert [
            (r.address, r.department.key if r.department else None, r.is_coordination)
            for r in uow.session.execute(select(RoomLink).order_by(RoomLink.id)).scalars()
        ] == [(f"matrix:{jugendamt}", "JA", False), (f"matrix:{coordination}", None, True)]


def test_the_command_line_links_a_room_of_version_12(tmp_path: Path) -> None:
    config_file = tmp_path / "regelkreis.toml"
    config_file.write_text(f'[bot]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    assert cli(config_file, "ressort", "add", "JA", "Jugendamt")[0] == 0
    # A room id as Synapse 1.163 makes it by default (room version 12).
    room = "!4O5nqvlFU8s8dxRgJ9KTXBhRLht7EU5VsPEprPwS54I"
    assert cli(config_file, "ressort", "link", "JA", "--matrix", room) == (
        0,
        f"matrix:{room} linked to Jugendamt (JA).\n",
        "",
    )
