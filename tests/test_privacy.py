"""What Regelkreis stores about a person, as the operator and the data-protection officer
see it, from an empty database set up on the command line: `regelkreis audit` (csv, jsonl,
--since, --person), `regelkreis person export` (everything about one person, as JSON), and
the daily pruning of the bot's bookkeeping."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text

from storage.models import AuditEntry, Base, ProcessedMessage, SentMessage, UnregisteredNotice
from tests.test_real_start import CLARA, MAX, Town, cli
from tests.test_real_start import any_town as any_town
from tests.test_real_start import config_file as config_file
from tests.test_real_start import town as town


def story(town: Town) -> None:
    clara = town.chat(CLARA)
    assert (
        clara.reply('neu "Kita Nordstadt" ressort:JA verantwortlich:"Max Müller"').outcome == "ok"
    )
    assert town.chat(MAX).reply("melden M-1 laufend 40% Träger gefunden").outcome == "ok"
    assert clara.reply("person ändern Max Müller email:max@stadt.de").outcome == "ok"


def test_the_audit_log_as_jsonl_and_csv_filtered_by_person_and_day(
    town: Town, config_file: Path
) -> None:
    story(town)
    status, said, err = cli(config_file, "audit", "--format", "jsonl", "--person", MAX)
    assert (status, err) == (0, "")
    entries = [json.loads(line) for line in said.splitlines()]
    assert [(e["action"], e["entity_kind"], e["person"]) for e in entries] == [
        ("report", "measure", MAX)
    ]
    assert entries[0]["after"]["progress"] == 40
    status, said, err = cli(config_file, "audit")
    rows = list(csv.DictReader(io.StringIO(said)))
    assert status == 0 and rows[0].keys() >= {"at", "actor", "action", "before", "after"}
    person_edit = [r for r in rows if r["entity_kind"] == "person" and r["action"] == "update"]
    assert json.loads(person_edit[-1]["after"]) == {"email": "max@stadt.de"}
    status, said, err = cli(config_file, "audit", "--since", "2100-01-01")
    assert (status, said.splitlines()[1:]) == (0, [])
    status, _said, err = cli(config_file, "audit", "--since", "31.12.2026")
    assert (status, err) == (
        2,
        "regelkreis: --since '31.12.2026': a day as YYYY-MM-DD, e.g. 2026-01-31\n",
    )


def test_person_export_holds_everything_stored_about_the_person(
    town: Town, config_file: Path, tmp_path: Path
) -> None:
    story(town)
    assert town.chat(CLARA).reply("person ändern Max Müller kennung:telegram:5002").outcome == "ok"
    with town.app.uows(write=True) as uow:
        # A bot message in his private Telegram chat that showed M-1.
        uow.session.add(
            SentMessage(
                platform="telegram",
                room_id="5002",
                message_id="77",
                measure_id=1,
                measure_version=1,
                sent_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
            )
        )
        uow.commit()
    out = tmp_path / "max.json"
    status, said, err = cli(config_file, "person", "export", MAX, "--out", str(out))
    assert (status, said, err) == (0, f"{out}: everything stored about Max Müller.\n", "")
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["person"]["email"] == "max@stadt.de"
    assert document["identities"] == ["console:Max Müller", "telegram:5002"]
    assert [(m["room"], m["measure"]) for m in document["sent_messages"]] == [("5002", "M-1")]
    assert document["responsible_for"] == [
        {"measure": "M-1", "title": "Kita Nordstadt", "status": "laufend"}
    ]
    assert [r["note"] for r in document["status_reports"]] == ["Träger gefunden"]
    actions = [(e["action"], e["entity_kind"]) for e in document["audit_entries"]]
    assert ("report", "measure") in actions and ("update", "person") in actions
    # The assignment notice the bot queued for him is stored too.
    assert [o["kind"] for o in document["outbox"]] == ["assignment"]
    status, _said, err = cli(config_file, "person", "export", "Niemand")
    assert (status, err) == (2, "regelkreis: no person named 'Niemand'\n")


def test_old_bookkeeping_is_pruned_by_the_minute_job_once_a_day(
    town: Town, config_file: Path
) -> None:
    old, recent = datetime(2026, 8, 1, 8, 0, tzinfo=UTC), datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    with town.app.uows(write=True) as uow:
        for n, at in enumerate((old, recent)):
            uow.session.add(
                ProcessedMessage(
                    platform="telegram", message_id=f"m{n}", room_id="-1", received_at=at
                )
            )
            uow.session.add(UnregisteredNotice(platform="telegram", room_id=f"-{n}", day=at.date()))
        uow.commit()
    # 90 days (`[privacy] keep_days`, the default) before 27 November 2026 is 29 August.
    status, _said, err = cli(config_file, "reminders", "run-due", "--now", "2026-11-27T09:00")
    assert (status, err) == (0, "")
    with town.session() as session:
        assert session.scalars(select(ProcessedMessage.message_id)).all() == ["m1"]
        assert session.scalars(select(UnregisteredNotice.room_id)).all() == ["-1"]


# -- person forget ---------------------------------------------------------------------------


def database_text(town: Town) -> bytes:
    """Everything the database holds, as it would be found: the SQLite file (and its log),
    or every row of every table of the PostgreSQL schema as text."""
    engine = town.app.engine
    if engine.dialect.name == "sqlite":
        path = Path(str(engine.url.database))
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    with engine.connect() as connection:
        tables = [t.name for t in Base.metadata.sorted_tables] + ["alembic_version"]
        return "\n".join(
            str(row[0])
            for table in tables
            for row in connection.execute(text(f'SELECT t::text FROM "{table}" t'))
        ).encode("utf-8")


def test_person_forget_leaves_the_name_nowhere_and_the_history_readable(
    any_town: Town,
) -> None:
    town = any_town
    config = town.app.config.source
    assert config is not None
    clara = town.chat(CLARA)
    assert (
        clara.reply('neu "Kita Nordstadt" ressort:JA verantwortlich:"Max Müller"').outcome == "ok"
    )
    assert town.chat(MAX).reply("melden M-1 laufend 40% Max Müller hat begonnen").outcome == "ok"
    assert clara.reply("person ändern Max Müller email:max@stadt.de").outcome == "ok"
    # Refused while he is responsible for an open measure.
    status, said, err = cli(config, "person", "forget", MAX, stdin="Max Müller\n")
    assert (status, said) == (2, "")
    assert err.endswith(
        "regelkreis: Max Müller is responsible for open measures (M-1): assign them to "
        "someone else first (zuweisen M-n an …); nothing was changed\n"
    )
    assert clara.reply("zuweisen M-1 an Clara Koch").outcome == "ok"
    # A wrong confirmation changes nothing.
    status, said, err = cli(config, "person", "forget", MAX, stdin="Max\n")
    assert (status, err.splitlines()[-1]) == (
        2,
        "Type the name (Max Müller) to erase this person for good: "
        "regelkreis: not confirmed; nothing was changed",
    )
    assert "Max Müller".encode() in database_text(town)
    status, said, err = cli(config, "person", "forget", MAX, stdin="Max Müller\n")
    assert status == 0, err
    assert said.startswith('Max Müller erased: now "Person 2"')
    found = database_text(town)
    for trace in ("Max Müller", "M\\u00fcller", "Müller", "max@stadt.de", "console:Max"):
        assert trace.encode() not in found, trace
    history = clara.say("verlauf M-1")
    assert "Person 2: geplant → laufend, 0 % → 40 % — „Person 2 hat begonnen“" in history
    assert "verantwortlich Person 2 → Clara Koch" in history
    with town.session() as session:
        erased = session.scalars(select(AuditEntry).where(AuditEntry.action == "forget")).one()
        assert (erased.entity_kind, erased.after) == ("person", {"pseudonym": "Person 2"})
        assert erased.actor.startswith("cli:")
