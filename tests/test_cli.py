"""The operator's command line: a municipality set up from an empty database, no SQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.bootstrap import bootstrap
from bot.cli import main
from bot.config import load_config
from handlers.core import Incoming
from storage.models import AuditEntry, Department, Person, RoomLink


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "regelkreis.toml"
    path.write_text(f'[bot]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    return path


def run(config_file: Path, *args: str) -> int:
    return main([*args, "--config", str(config_file)])


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for command in ("chat", "run", "db", "demo", "ressort", "room", "person"):
        assert command in out
    with pytest.raises(SystemExit):
        main(["person", "add", "--help"])
    assert "--rolle" in capsys.readouterr().out


def test_a_municipality_is_set_up_from_the_command_line(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config_file, "db", "upgrade") == 0
    assert "up to date" in capsys.readouterr().out
    assert (
        run(
            config_file,
            "ressort",
            "add",
            "JA",
            "Jugendamt",
            "--alias",
            "Amt 51",
            "--alias",
            "Jugend",
        )
        == 0
    )
    assert "Jugendamt (JA) created." in capsys.readouterr().out
    assert run(config_file, "ressort", "link", "ja", "--telegram", "-100123") == 0
    assert "telegram:-100123 linked to Jugendamt (JA)." in capsys.readouterr().out
    assert run(config_file, "room", "coordination", "--matrix", "!koord:stadt.de") == 0
    assert (
        run(
            config_file,
            "person",
            "add",
            "Max Müller",
            "--ressort",
            "Jugend",
            "--rolle",
            "ressort",
            "--telegram",
            "4711",
            "--matrix",
            "@max:stadt.de",
        )
        == 0
    )
    assert (
        "Max Müller registered (ressort; matrix:@max:stadt.de, telegram:4711)."
        in capsys.readouterr().out
    )
    assert (
        run(
            config_file,
            "person",
            "add",
            "Anna Schmidt",
            "--rolle",
            "koordination",
            "--matrix",
            "@anna:stadt.de",
            "--admin",
        )
        == 0
    )

    app = bootstrap(load_config(config_file))
    with app.uows() as uow:
        room = uow.session.execute(
            select(RoomLink).where(RoomLink.room_id == "-100123")
        ).scalar_one()
        assert room.department is not None and room.department.key == "JA"
        coordination = uow.session.execute(
            select(RoomLink).where(RoomLink.is_coordination.is_(True))
        ).scalar_one()
        assert coordination.address == "matrix:!koord:stadt.de"
        anna = uow.session.execute(select(Person).where(Person.name == "Anna Schmidt")).scalar_one()
        assert anna.is_admin
        origins = {e.origin_platform for e in uow.session.execute(select(AuditEntry)).scalars()}
        assert origins == {"cli"}

    reply = app.dispatcher.handle(
        Incoming(platform="telegram", room_id="-100123", sender_id="4711", text="wer bin ich")
    )
    assert "Registriert als Max Müller — Jugendamt (JA), Rolle ressort" in reply.plain()
    assert "Raum verknüpft mit Jugendamt (JA)" in reply.plain()
    overview = app.dispatcher.handle(
        Incoming(platform="telegram", room_id="-100123", sender_id="4711", text="status")
    )
    assert overview.plain().startswith("📊 Jugendamt (JA) — 0 Maßnahmen, 0 federführend")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ressort", "add", "JA", "Doppelt"], "The key JA is taken by Jugendamt (JA)."),
        (["ressort", "add", "J A!", "Kaputt"], "The key: 1–10 letters or digits"),
        (["ressort", "link", "XY", "--telegram", "5"], "not found: XY"),
        (["ressort", "link", "JA", "--telegram", "abc"], "a Telegram chat id is a number"),
        (["room", "coordination", "--matrix", "koord"], "a Matrix room id looks like"),
        (
            ["person", "add", "Eva", "--rolle", "ressort", "--telegram", "1"],
            "--ressort is required for the role ressort",
        ),
        (
            ["person", "add", "Eva", "--rolle", "lesen", "--matrix", "eva"],
            "matrix id 'eva' is not valid",
        ),
    ],
)
def test_bad_operator_input_is_explained_and_changes_nothing(
    config_file: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert run(config_file, "ressort", "add", "JA", "Jugendamt") == 0
    capsys.readouterr()
    assert run(config_file, *args) == 2
    assert message in capsys.readouterr().err
    app = bootstrap(load_config(config_file))
    with app.uows() as uow:
        assert [d.key for d in uow.session.execute(select(Department)).scalars()] == ["JA"]
        assert uow.session.execute(select(Person)).first() is None
        assert uow.session.execute(select(RoomLink)).first() is None


def test_demo_is_created_once(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config_file, "demo") == 0
    assert "created" in capsys.readouterr().out
    assert run(config_file, "demo") == 0
    assert "exists already" in capsys.readouterr().out


def test_a_bad_configuration_stops_with_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kaputt.toml"
    path.write_text('[municipality]\nstate = "XX"\n', encoding="utf-8")
    assert main(["db", "upgrade", "--config", str(path)]) == 2
    assert "municipality.state: unknown federal state 'XX'" in capsys.readouterr().err
