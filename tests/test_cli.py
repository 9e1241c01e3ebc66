"""The operator's command line: a municipality set up from an empty database, no SQL."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.bootstrap import bootstrap
from bot.cli import main
from bot.config import Config, load_config
from handlers.core import Incoming
from storage.db import make_engine
from storage.migrate import head_revision, upgrade
from storage.models import AuditEntry, Department, Measure, Person, RoomLink


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
    for command in (
        "chat",
        "run",
        "db",
        "demo",
        "doctor",
        "ressort",
        "room",
        "person",
        "handlungsfeld",
        "trend",
        "reminders",
    ):
        assert command in out
    with pytest.raises(SystemExit):
        main(["person", "add", "--help"])
    assert "--rolle" in capsys.readouterr().out


def test_a_municipality_is_set_up_from_the_command_line(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config_file, "db", "upgrade") == 0
    assert "Database schema created" in capsys.readouterr().out
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
        (["room", "coordination", "--matrix", "koord"], "a Matrix room id starts with !"),
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


# -- the command line's own rules: --config, --version, exit statuses ------------------------


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The operator's working directory: no regelkreis.toml, and nothing may land in it."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_config_before_the_command_name_is_the_one_used(
    config_file: Path, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config_file), "db", "upgrade"]) == 0
    assert (config_file.parent / "data" / "regelkreis.db").exists()
    assert not (elsewhere / "data").exists()
    assert main(["--config", str(config_file), "ressort", "add", "JA", "Jugendamt"]) == 0
    assert main(["ressort", "add", "SA", "Schulamt", "--config", str(config_file)]) == 0
    capsys.readouterr()
    app = bootstrap(load_config(config_file))
    with app.uows() as uow:
        keys = sorted(d.key for d in uow.session.execute(select(Department)).scalars())
    assert keys == ["JA", "SA"]


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_named_config_file_that_does_not_exist_is_an_error(
    elsewhere: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    missing = "/nonexistent.toml"
    argv = (
        ["--config", missing, "db", "upgrade"]
        if where == "before"
        else ["db", "upgrade", "--config", missing]
    )
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "regelkreis: /nonexistent.toml: no such configuration file"
    ]
    assert not (elsewhere / "data").exists()


def test_version_prints_the_version_of_the_package(capsys: pytest.CaptureFixture[str]) -> None:
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text("utf-8"))
    said = f"regelkreis {project['project']['version']}\n"
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == said
    # After another option the parser answers it: the same line.
    with pytest.raises(SystemExit) as done:
        main(["--config", "/nonexistent.toml", "--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == said


# -- db upgrade says what it did ---------------------------------------------------------------


def test_db_upgrade_says_whether_it_created_upgraded_or_found_the_schema(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = head_revision()
    assert run(config_file, "db", "upgrade") == 0
    out = capsys.readouterr().out
    assert f"Database schema created (revision {head})" in out
    assert "up to date" not in out

    assert run(config_file, "db", "upgrade") == 0
    assert f"Database schema is up to date (revision {head})" in capsys.readouterr().out

    older = tmp_database(config_file, "older")
    engine = make_engine(older.database_url)
    upgrade(engine, "0001")
    engine.dispose()
    assert main(["db", "upgrade", "--config", str(older.source)]) == 0
    assert f"Database schema upgraded from revision 0001 to {head}" in capsys.readouterr().out


def test_db_upgrade_on_an_unreachable_database_is_one_line_and_exit_5(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pg.toml"
    path.write_text(
        f'[bot]\ndata_dir = "{tmp_path / "data"}"\n'
        '[database]\nurl = "postgresql+psycopg://regelkreis:geheim@127.0.0.1:1/test"\n',
        encoding="utf-8",
    )
    assert main(["db", "upgrade", "--config", str(path)]) == 5
    captured = capsys.readouterr()
    [line] = captured.err.splitlines()
    assert line.startswith(
        "regelkreis: the database postgresql+psycopg://regelkreis:***@127.0.0.1:1/test "
        "is not reachable: "
    )
    assert "geheim" not in captured.err


def test_a_schema_newer_than_the_program_is_refused_and_left_alone(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config_file, "db", "upgrade") == 0
    engine = make_engine(load_config(config_file).database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    capsys.readouterr()
    assert run(config_file, "db", "upgrade") == 5
    [line] = capsys.readouterr().err.splitlines()
    assert "schema at revision 9999, which regelkreis" in line
    assert "a newer regelkreis upgraded this database" in line
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            "9999"
        )
    engine.dispose()


def tmp_database(config_file: Path, name: str) -> Config:
    """Another installation beside `config_file`, with its own data folder."""
    path = config_file.parent / f"{name}.toml"
    path.write_text(f'[bot]\ndata_dir = "{config_file.parent / name}"\n', encoding="utf-8")
    return load_config(path)


# -- demo says what it did, and never mixes the example into real data -------------------------


def test_demo_says_what_it_created_counted_from_the_database(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config_file, "demo") == 0
    out = capsys.readouterr().out.strip()
    app = bootstrap(load_config(config_file))
    with app.uows() as uow:
        departments = len(uow.session.execute(select(Department)).all())
        people = len(uow.session.execute(select(Person)).all())
        measures = len(uow.session.execute(select(Measure)).all())
    assert out.startswith(
        f"Example municipality Musterstadt created: {departments} departments, {people} people, "
    )
    assert f", {measures} measures" in out
    assert departments == 10 and measures == 50

    assert run(config_file, "demo") == 0
    assert "Example municipality Musterstadt exists already" in capsys.readouterr().out


@pytest.mark.parametrize(
    "setup",
    [
        ["ressort", "add", "JA", "Jugendamt"],
        # Another municipality's Bauamt under the example coordination office's key.
        ["ressort", "add", "BB", "Bauamt"],
        ["person", "add", "Eva Ernst", "--rolle", "lesen"],
    ],
    ids=["department-JA", "department-BB", "person"],
)
@pytest.mark.parametrize("command", [["demo"], ["chat", "--demo"], ["run", "--demo"]])
def test_demo_refuses_a_database_with_another_municipalitys_data(
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
    setup: list[str],
    command: list[str],
) -> None:
    assert run(config_file, *setup) == 0
    capsys.readouterr()
    assert run(config_file, *command) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith("regelkreis: the database holds another municipality's data (")
    assert "the example municipality Musterstadt goes into an empty database only" in line
    app = bootstrap(load_config(config_file))
    with app.uows() as uow:
        assert len(uow.session.execute(select(Department)).all()) == (setup[0] == "ressort")
        assert len(uow.session.execute(select(Person)).all()) == (setup[0] == "person")
        assert uow.session.execute(select(Measure)).first() is None


# -- the catalogs of fields of action and trends ---------------------------------------------


def test_fields_of_action_are_listed_added_renamed_and_retired(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config_file, "handlungsfeld", "list") == 0
    seven = ["Arbeit", "Bildung", "Integration", "Kultur", "Soziales", "Umwelt", "Wohnen"]
    assert capsys.readouterr().out.splitlines() == seven

    assert run(config_file, "handlungsfeld", "add", "Gesundheit") == 0
    assert capsys.readouterr().out == "Field of action created: Gesundheit\n"
    assert run(config_file, "handlungsfeld", "rename", "Umwelt", "Umwelt und Klima") == 0
    assert capsys.readouterr().out == "Field of action renamed: Umwelt → Umwelt und Klima\n"
    assert run(config_file, "field", "retire", "Kultur") == 0
    assert capsys.readouterr().out == (
        "Field of action retired: Kultur — stays on 0 goals, no longer offered for new goals.\n"
    )
    assert run(config_file, "handlungsfeld", "list") == 0
    assert capsys.readouterr().out.splitlines() == [
        "Arbeit",
        "Bildung",
        "Gesundheit",
        "Integration",
        "Soziales",
        "Umwelt und Klima",
        "Wohnen",
        "Kultur (retired)",
    ]

    app = bootstrap(load_config(config_file))
    with app.uows() as uow:
        audit = uow.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
        assert [(e.action, e.origin_platform) for e in audit] == [
            ("create", "cli"),
            ("rename", "cli"),
            ("retire", "cli"),
        ]


def test_trends_take_the_same_verbs(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config_file, "trend", "add", "Fachkräftemangel") == 0
    assert capsys.readouterr().out == "Trend created: Fachkräftemangel\n"
    assert run(config_file, "trend", "rename", "Fachkräftemangel", "Fachkräftesicherung") == 0
    assert capsys.readouterr().out == "Trend renamed: Fachkräftemangel → Fachkräftesicherung\n"
    assert run(config_file, "trend", "retire", "Demokratie") == 0
    capsys.readouterr()
    assert run(config_file, "trend", "list") == 0
    listed = capsys.readouterr().out.splitlines()
    assert "Fachkräftesicherung" in listed
    assert listed[-1] == "Demokratie (retired)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["handlungsfeld", "add", "bildung"], "The field of action “Bildung” exists already."),
        (["handlungsfeld", "retire", "Sport"], "not found: Sport. Fields of action: Arbeit, "),
        (["handlungsfeld", "rename", "Bildung", "Wohnen"], "“Wohnen” exists already."),
        (["trend", "add", "Klima, Wandel"], "No comma in the name."),
    ],
)
def test_bad_catalog_input_is_exit_2_and_changes_nothing(
    config_file: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert run(config_file, *args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith("regelkreis: ")
    assert message in line
    app = bootstrap(load_config(config_file))
    with app.uows() as uow:
        assert uow.session.execute(select(AuditEntry)).first() is None
