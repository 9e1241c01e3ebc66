"""Operator errors, as the operator meets them: `regelkreis` started as a child process with a
broken configuration, data folder, database or platform credentials ends in one line on
standard error and its exit status (docs/operations.md, "Exit statuses"), never a traceback;
with --debug the traceback is there as well.

`regelkreis run` is pointed at the Bot API server of tests/telegram_wire.py (a rejected
token, a broken answer, a clean stop) and at the real Synapse of tests/synapse.py (a refused
access token or password).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import PG_URL
from sqlalchemy import create_engine, make_url, text

from tests.synapse import Synapse, free_port, synapse  # noqa: F401  (the session fixture)
from tests.telegram_wire import WireServer

TOKEN = "4242424242:AAE-wire-test-token_0123456789abcdef"
WRONG_TOKEN = "4242424242:AAE-revoked-token_0123456789abcdefgh"
# PTB's own RetryAfter warns about a type change of its retry_after attribute; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")


@dataclass
class Ended:
    """How a run of the command line ended."""

    status: int
    out: str
    err: str

    @property
    def line(self) -> str:
        """The one line the program said about the failure (the last of standard error: in
        `run` the log comes before it)."""
        lines = self.err.splitlines()
        assert lines, "nothing on standard error"
        assert [x for x in lines if x.startswith("regelkreis:")] == lines[-1:], self.err
        return lines[-1]

    def one_line(self) -> str:
        """Standard error is this one line and nothing else."""
        assert len(self.err.splitlines()) == 1, self.err
        return self.line


def environment() -> dict[str, str]:
    # No secret of the machine's environment may reach the configuration under test.
    return {k: v for k, v in os.environ.items() if not k.startswith("REGELKREIS_")}


def regelkreis(cwd: Path, *args: str, timeout: float = 60) -> Ended:
    """`regelkreis ARGS` in `cwd`, as the operator types it."""
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Ended(done.returncode, done.stdout, done.stderr)


async def regelkreis_async(cwd: Path, *args: str, timeout: float = 60) -> Ended:
    """The same, while this test's event loop serves a wire server."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        cwd=cwd,
        env=environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return Ended(process.returncode, out.decode(), err.decode())


def no_traceback(ended: Ended) -> None:
    assert "Traceback" not in ended.err + ended.out
    assert "CancelledError" not in ended.err + ended.out


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- the configuration file ----------------------------------------------------------------


def test_a_configuration_file_that_is_not_utf8_is_named_with_its_byte(tmp_path: Path) -> None:
    config = tmp_path / "regelkreis.toml"
    # Saved as Latin-1 by an editor: the ü of München is the byte 0xfc.
    config.write_bytes(
        '[bot]\ndata_dir = "data"\n[municipality]\nname = "München"\n'.encode("latin-1")
    )
    ended = regelkreis(tmp_path, "--config", str(config), "db", "upgrade")
    assert ended.status == 2
    assert ended.one_line() == (
        f"regelkreis: {config}: not UTF-8 (byte 0xfc in line 4); save the file as UTF-8"
    )
    no_traceback(ended)
    assert not (tmp_path / "data").exists()


def test_debug_adds_the_traceback_before_or_after_the_command_name(tmp_path: Path) -> None:
    config = tmp_path / "regelkreis.toml"
    config.write_bytes(b'[municipality]\nname = "M\xfcnchen"\n')
    for args in (
        ("--debug", "--config", str(config), "doctor"),
        ("doctor", "--config", str(config), "--debug"),
    ):
        ended = regelkreis(tmp_path, *args)
        assert ended.status == 2
        assert "Traceback (most recent call last)" in ended.err
        assert ended.line == (
            f"regelkreis: {config}: not UTF-8 (byte 0xfc in line 2); save the file as UTF-8"
        )


def test_a_folder_given_as_the_configuration_file(tmp_path: Path) -> None:
    folder = tmp_path / "regelkreis.toml"
    folder.mkdir()
    ended = regelkreis(tmp_path, "run", "--config", str(folder))
    assert ended.status == 2
    assert ended.one_line() == f"regelkreis: {folder}: is a folder, not a configuration file"
    no_traceback(ended)


def test_a_postgresql_driver_the_program_does_not_ship_is_a_configuration_error(
    tmp_path: Path,
) -> None:
    config = write(
        tmp_path / "regelkreis.toml",
        '[database]\nurl = "postgresql+psycopg2://regelkreis@127.0.0.1/regelkreis"\n',
    )
    ended = regelkreis(tmp_path, "--config", str(config), "db", "upgrade")
    assert ended.status == 2
    assert ended.err.splitlines() == [
        f"regelkreis: {config}: the configuration is not valid:",
        "  - database.url: use sqlite:///path/file.db or postgresql+psycopg://user@host/db",
    ]


# -- the data folder -----------------------------------------------------------------------


@pytest.mark.parametrize("where", ["the folder itself", "a folder above it"])
def test_a_file_in_the_way_of_the_data_folder(tmp_path: Path, where: str) -> None:
    (tmp_path / "daten").write_text("not a folder\n", encoding="utf-8")
    data_dir = tmp_path / "daten" if where == "the folder itself" else tmp_path / "daten" / "bot"
    config = write(tmp_path / "regelkreis.toml", f'[bot]\ndata_dir = "{data_dir}"\n')
    for command in (("db", "upgrade"), ("run",), ("reminders", "run-due", "--dry-run")):
        ended = regelkreis(tmp_path, "--config", str(config), *command)
        assert ended.status == 4, command
        assert ended.one_line() == (
            f"regelkreis: bot.data_dir is not usable: {data_dir}: {tmp_path / 'daten'} "
            "is not a folder"
        )
        no_traceback(ended)


def test_a_sqlite_file_whose_folder_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "daten").write_text("not a folder\n", encoding="utf-8")
    database = tmp_path / "daten" / "regelkreis.db"
    config = write(
        tmp_path / "regelkreis.toml",
        f'[bot]\ndata_dir = "{tmp_path / "data"}"\n[database]\nurl = "sqlite:///{database}"\n',
    )
    ended = regelkreis(tmp_path, "--config", str(config), "trend", "list")
    assert ended.status == 5
    assert ended.one_line().startswith(
        f"regelkreis: the database sqlite:///{database} cannot be created: "
    )
    no_traceback(ended)


# -- the database --------------------------------------------------------------------------


def test_a_file_that_is_no_sqlite_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    # A backup restored over the wrong file: text where the database should be.
    (data / "regelkreis.db").write_text(
        "Protokoll der Sitzung vom 3. März\n" * 40, encoding="utf-8"
    )
    config = write(tmp_path / "regelkreis.toml", f'[bot]\ndata_dir = "{data}"\n')
    ended = regelkreis(tmp_path, "--config", str(config), "db", "upgrade")
    assert ended.status == 5
    assert ended.one_line() == (
        f"regelkreis: the database sqlite:///{data / 'regelkreis.db'} cannot be used: "
        "file is not a database"
    )
    no_traceback(ended)


def test_an_unreachable_postgresql_is_one_line_with_status_5(tmp_path: Path) -> None:
    config = write(
        tmp_path / "regelkreis.toml",
        f'[bot]\ndata_dir = "{tmp_path / "data"}"\n'
        '[database]\nurl = "postgresql+psycopg://regelkreis:geheim@127.0.0.1:1/regelkreis"\n',
    )
    for command in (("db", "upgrade"), ("run",), ("chat",), ("trend", "list")):
        ended = regelkreis(tmp_path, "--config", str(config), *command)
        assert ended.status == 5, command
        line = ended.one_line()
        assert line.startswith(
            "regelkreis: the database postgresql+psycopg://regelkreis:***@127.0.0.1:1/regelkreis "
            "is not reachable: connection failed: "
        )
        assert "Connection refused" in line
        assert "geheim" not in ended.err
        no_traceback(ended)


def postgres_or_skip() -> None:
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # pragma: no cover - depends on the machine
        if os.environ.get("CI") or os.environ.get("REGELKREIS_REQUIRE_PG"):
            pytest.fail(f"PostgreSQL is required here and not reachable: {error}")
        pytest.skip(f"PostgreSQL not reachable: {str(error).splitlines()[0]}")


@pytest.mark.postgres
def test_a_missing_postgresql_database_is_named(tmp_path: Path) -> None:
    postgres_or_skip()
    url = make_url(PG_URL).set(database="does_not_exist").render_as_string(False)
    config = write(
        tmp_path / "regelkreis.toml",
        f'[bot]\ndata_dir = "{tmp_path / "data"}"\n[database]\nurl = "{url}"\n',
    )
    ended = regelkreis(tmp_path, "--config", str(config), "run")
    assert ended.status == 5
    line = ended.one_line()
    assert line.startswith(f"regelkreis: the database {make_url(url)!r} is not reachable: ")
    assert line.endswith('database "does_not_exist" does not exist')
    no_traceback(ended)


# -- dates on the command line -------------------------------------------------------------


@pytest.mark.parametrize(
    "now", ["9999-12-22T08:00", "1999-12-31T08:00", "2101-01-01T00:00", "0001-01-01T00:00+14:00"]
)
def test_run_due_refuses_a_time_outside_2000_to_2100(tmp_path: Path, now: str) -> None:
    config = write(tmp_path / "regelkreis.toml", f'[bot]\ndata_dir = "{tmp_path / "data"}"\n')
    for dry_run in ((), ("--dry-run",)):
        ended = regelkreis(
            tmp_path, "--config", str(config), "reminders", "run-due", *dry_run, "--now", now
        )
        assert ended.status == 2
        assert ended.one_line() == (
            f"regelkreis: --now {now!r} is outside the dates the program accepts "
            "(2000-01-01 to 2100-12-31)"
        )
        assert ended.out == ""
        no_traceback(ended)


def test_run_due_takes_the_last_day_of_the_range(tmp_path: Path) -> None:
    config = write(tmp_path / "regelkreis.toml", f'[bot]\ndata_dir = "{tmp_path / "data"}"\n')
    ended = regelkreis(
        tmp_path,
        "--config",
        str(config),
        "reminders",
        "run-due",
        "--dry-run",
        "--now",
        "2100-12-31T08:00",
    )
    assert (ended.status, ended.err) == (0, "")
    assert ended.out == (
        "dry run at 2100-12-31 08:00 CET: 0 reminders would be recorded, 0 messages would be "
        "sent; nothing was marked.\n"
    )


# -- Telegram: `regelkreis run` against the Bot API server ----------------------------------


def telegram_config(folder: Path, server: WireServer, token: str) -> Path:
    return write(
        folder / "regelkreis.toml",
        f'[bot]\ndata_dir = "{folder / "data"}"\n'
        f'\n[telegram]\ntoken = "{token}"\nbase_url = "{server.base_url}"\n',
    )


@pytest.fixture
def wire() -> Iterator[WireServer]:
    server = WireServer(TOKEN)
    server.port = free_port()  # known before it starts: the configuration names it
    yield server


def test_run_with_a_rejected_token_exits_6_with_one_line(tmp_path: Path, wire: WireServer) -> None:
    config = telegram_config(tmp_path, wire, WRONG_TOKEN)

    async def scene() -> Ended:
        async with wire:
            return await regelkreis_async(tmp_path, "--config", str(config), "run")

    ended = asyncio.run(scene())
    assert ended.status == 6
    assert ended.line == (
        "regelkreis: Telegram rejected the token of bot 4242424242: check telegram.token "
        "(or REGELKREIS_TELEGRAM_TOKEN) with BotFather"
    )
    no_traceback(ended)
    assert "revoked-token" not in ended.err + ended.out


def test_run_due_with_a_rejected_token_delivers_what_it_can_and_exits_6(
    tmp_path: Path, wire: WireServer
) -> None:
    config = telegram_config(tmp_path, wire, WRONG_TOKEN)

    async def scene() -> Ended:
        async with wire:
            return await regelkreis_async(
                tmp_path,
                "--config",
                str(config),
                "reminders",
                "run-due",
                "--now",
                "2027-03-01T08:00",
            )

    ended = asyncio.run(scene())
    assert ended.status == 6
    assert ended.out == "run at 2027-03-01 08:00 CET: 0 reminders recorded, 0 delivered.\n"
    assert ended.line == (
        "regelkreis: Telegram rejected the token of bot 4242424242: check telegram.token "
        "(or REGELKREIS_TELEGRAM_TOKEN) with BotFather; its reminders wait for the next run"
    )
    no_traceback(ended)


def test_run_with_a_rejected_token_and_debug_shows_the_traceback(
    tmp_path: Path, wire: WireServer
) -> None:
    config = telegram_config(tmp_path, wire, WRONG_TOKEN)

    async def scene() -> Ended:
        async with wire:
            return await regelkreis_async(tmp_path, "run", "--debug", "--config", str(config))

    ended = asyncio.run(scene())
    assert ended.status == 6
    assert "Traceback (most recent call last)" in ended.err
    assert ended.line.startswith("regelkreis: Telegram rejected the token of bot 4242424242")
    assert "revoked-token" not in ended.err + ended.out


def test_run_against_a_broken_bot_api_exits_7(tmp_path: Path, wire: WireServer) -> None:
    config = telegram_config(tmp_path, wire, TOKEN)

    async def scene() -> Ended:
        async with wire:
            # A proxy's page where the Bot API should be.
            wire.fail("getMe", body=b"<html><body>502 Bad Gateway</body></html>", times=10)
            return await regelkreis_async(tmp_path, "--config", str(config), "run")

    ended = asyncio.run(scene())
    assert ended.status == 7
    assert ended.line == (
        f"regelkreis: Telegram: the Bot API at {wire.base_url} gave no usable answer to getMe "
        "(Invalid server response); check telegram.base_url"
    )
    no_traceback(ended)
    assert [call.method for call in wire.calls] == ["getme"]


def test_run_stops_cleanly_on_sigterm(tmp_path: Path, wire: WireServer) -> None:
    config = telegram_config(tmp_path, wire, TOKEN)

    async def scene() -> Ended:
        async with wire:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "--config",
                str(config),
                "run",
                cwd=tmp_path,
                env=environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            # Serving: it polls.
            await wire.wait_for(lambda: wire.calls_of("getUpdates"), timeout=30)
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(process.communicate(), 30)
            assert process.returncode is not None
            return Ended(process.returncode, out.decode(), err.decode())

    ended = asyncio.run(scene())
    assert ended.status == 0, ended.err
    assert "regelkreis:" not in ended.err
    no_traceback(ended)
    assert " ERROR " not in ended.err


# -- Matrix: `regelkreis run` against a real Synapse -----------------------------------------


def matrix_config(folder: Path, synapse: Synapse, user_id: str, secret: str) -> Path:  # noqa: F811
    return write(
        folder / "regelkreis.toml",
        f'[bot]\ndata_dir = "{folder / "data"}"\n'
        f'\n[matrix]\nhomeserver = "{synapse.url}"\nuser_id = "{user_id}"\n{secret}\n',
    )


@pytest.mark.parametrize(
    ("secret", "refused"),
    [
        (
            'access_token = "syt_not_a_token"',
            "refused the access token of {user} (M_UNKNOWN_TOKEN: Invalid access token "
            "passed.): check matrix.access_token (or REGELKREIS_MATRIX_ACCESS_TOKEN)",
        ),
        (
            'password = "not-the-password"',
            "refused the login of {user} (M_FORBIDDEN: Invalid username or password): check "
            "matrix.password (or REGELKREIS_MATRIX_PASSWORD)",
        ),
    ],
    ids=["access token", "password"],
)
def test_run_with_refused_matrix_credentials_exits_6(
    tmp_path: Path,
    synapse: Synapse,  # noqa: F811
    secret: str,
    refused: str,
) -> None:
    bot = synapse.register(f"operatorerrors{secrets.token_hex(3)}")
    config = matrix_config(tmp_path, synapse, bot.user_id, secret)
    ended = regelkreis(tmp_path, "--config", str(config), "run")
    assert ended.status == 6
    assert ended.line == f"regelkreis: Matrix: {synapse.url} " + refused.format(user=bot.user_id)
    no_traceback(ended)
    assert secret.split('"')[1] not in ended.err + ended.out
