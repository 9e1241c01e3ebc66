"""Configuration: defaults, the example file, env secrets, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "regelkreis.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_embedded_defaults_use_sqlite_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={})
    assert config.municipality.timezone == "Europe/Berlin"
    assert config.bot.language == "de"
    assert config.matrix is None and config.telegram is None
    assert config.database_url == f"sqlite:///{tmp_path / 'data' / 'regelkreis.db'}"
    assert config.reminders.deadline_days == [14, 3]


def test_the_example_file_is_valid(tmp_path: Path) -> None:
    config = load_config(ROOT / "config.example.toml", environ={})
    assert config.municipality.state == "BB"
    assert config.database_url.endswith("/data/regelkreis.db")
    assert config.data_dir == ROOT / "data"


def test_data_dir_is_relative_to_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, '[bot]\ndata_dir = "var"\n')
    assert (
        load_config(path, environ={}).database_url
        == f"sqlite:///{tmp_path / 'var' / 'regelkreis.db'}"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[municipality]\ntimezone = "Europe/Berlinn"\n',
            "municipality.timezone: unknown time zone 'Europe/Berlinn'",
        ),
        ('[municipality]\nstate = "XX"\n', "municipality.state: unknown federal state 'XX'"),
        ('[bot]\nlanguage = "fr"\n', "bot.language: Input should be 'de' or 'en'"),
        ('[bot]\nadmins = ["anna"]\n', "bot.admins: 'anna' is not a chat identity"),
        ('[reminders]\nworking_hours = "8-17"\n', "reminders.working_hours: write working hours"),
        ('[reminders]\ndigest = "SUN 08:00"\n', "reminders.digest: write the digest time"),
        ("[reminders]\ndeadline_days = [14, 0]\n", "reminders.deadline_days.1:"),
        ('[bot]\nlangauge = "de"\n', "bot.langauge: unknown key"),
        (
            '[matrix]\nhomeserver = "https://m.example.org"\nuser_id = "@bot:example.org"\n',
            "matrix: needs password or access_token",
        ),
        ('[telegram]\ntoken = "nonsense"\n', "telegram.token: is not a bot token"),
        ('[database]\nurl = "mysql://x"\n', "database.url: use sqlite:///"),
        ("[bot\n", "not valid TOML"),
    ],
)
def test_a_bad_file_stops_with_the_key_and_what_is_wrong(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={})
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "fehlt.toml", environ={})


def test_secrets_come_from_the_environment(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[matrix]\nhomeserver = "https://m.example.org"\n'
        'user_id = "@bot:example.org"\n[telegram]\n',
    )
    config = load_config(
        path,
        environ={
            "REGELKREIS_MATRIX_PASSWORD": "geheim",
            "REGELKREIS_TELEGRAM_TOKEN": "123456:ABCDEFGHIJKLMNOP",
            "REGELKREIS_DATABASE_URL": "postgresql+psycopg://bot@db/regelkreis",
        },
    )
    assert config.matrix is not None and config.matrix.password is not None
    assert config.matrix.password.get_secret_value() == "geheim"
    assert config.telegram is not None
    assert config.telegram.token.get_secret_value() == "123456:ABCDEFGHIJKLMNOP"
    assert config.database_url == "postgresql+psycopg://bot@db/regelkreis"
    # Secrets never show in the configuration's text form (logs, error messages).
    assert "geheim" not in repr(config) and "ABCDEFGHIJKLMNOP" not in repr(config)


def test_a_secret_alone_does_not_switch_a_platform_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={"REGELKREIS_TELEGRAM_TOKEN": "123456:ABCDEFGHIJKLMNOP"})
    assert config.telegram is None
