"""`regelkreis doctor`: one line per check, against a real Synapse and the Telegram wire server.

The homeserver is the session's one (tests/synapse.py, shared with tests/test_matrix.py); the
Bot API server (tests/telegram_wire.py) runs on its own event loop in a thread, because the
operator's `regelkreis doctor` runs its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from storage.db import make_engine
from storage.migrate import head_revision, upgrade
from tests.synapse import Account, Synapse, free_port, synapse  # noqa: F401  (session fixture)
from tests.telegram_wire import WireServer

TOKEN = "4242424242:AAE-wire-test-token_0123456789abcdef"
WRONG_TOKEN = "4343434343:AAE-not-the-right-one_0123456789"
UNREACHABLE_PG = "postgresql+psycopg://postgres@127.0.0.1:1/test"
_accounts = itertools.count(1)


@contextlib.contextmanager
def bot_api(token: str = TOKEN) -> Iterator[WireServer]:
    """The Bot API server answering on 127.0.0.1 while the test runs."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="bot-api", daemon=True)
    thread.start()
    server = WireServer(token, username="regelkreis_test_bot")
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture
def account(synapse: Synapse) -> Account:  # noqa: F811
    return synapse.register(f"doctor{next(_accounts)}")


def write_config(tmp_path: Path, text: str = "") -> Path:
    path = tmp_path / "regelkreis.toml"
    path.write_text(f'[bot]\ndata_dir = "{tmp_path / "data"}"\n{text}', encoding="utf-8")
    return path


def matrix_section(homeserver: str, user_id: str, **credentials: str) -> str:
    lines = [f'homeserver = "{homeserver}"', f'user_id = "{user_id}"']
    lines += [f'{key} = "{value}"' for key, value in credentials.items()]
    return "[matrix]\n" + "\n".join(lines) + "\n"


def telegram_section(base_url: str, token: str) -> str:
    return f'[telegram]\ntoken = "{token}"\nbase_url = "{base_url}"\n'


def doctor(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """Run `regelkreis doctor --config FILE`: the exit status and the lines it printed."""
    status = main(["doctor", "--config", str(config)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert captured.err == ""
    return status, captured.out.splitlines()


def migrated(config: Path) -> None:
    assert main(["db", "upgrade", "--config", str(config)]) == 0


def test_everything_ok_is_one_ok_line_per_check_and_exit_0(
    tmp_path: Path,
    synapse: Synapse,  # noqa: F811
    account: Account,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with bot_api() as server:
        config = write_config(
            tmp_path,
            matrix_section(synapse.url, account.user_id, password=account.password)
            + telegram_section(server.base_url, TOKEN),
        )
        migrated(config)
        capsys.readouterr()
        status, lines = doctor(config, capsys)
    assert status == 0, lines
    assert lines == [
        f"ok configuration: {config} (Musterstadt, state BB, Europe/Berlin; platforms: "
        "matrix, telegram)",
        f"ok database: sqlite:///{tmp_path / 'data' / 'regelkreis.db'}: schema at revision "
        f"{head_revision()} (the newest)",
        f"ok matrix: logged in as {account.user_id} on {synapse.url} with the password",
        f"ok telegram: bot @regelkreis_test_bot (id 4242424242) on {server.base_url}",
    ]
    # The password login was doctor's own device, logged out again; the bot's is untouched.
    devices = synapse.request("GET", "/_matrix/client/v3/devices", token=account.access_token)
    assert [d["device_id"] for d in devices["devices"]] == [account.device_id]
    assert server.calls_of("getUpdates") == []


def test_the_embedded_defaults_on_a_migrated_database_are_ok(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    migrated(config)
    capsys.readouterr()
    status, lines = doctor(config, capsys)
    assert status == 0
    assert lines[-1] == "ok platforms: none configured (regelkreis run opens the console chat)"


def test_a_wrong_matrix_password_is_one_line_and_exit_1(
    tmp_path: Path,
    synapse: Synapse,  # noqa: F811
    account: Account,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(
        tmp_path, matrix_section(synapse.url, account.user_id, password="not-the-password")
    )
    migrated(config)
    capsys.readouterr()
    status, lines = doctor(config, capsys)
    assert status == 1
    assert [line for line in lines if not line.startswith("ok ")] == [
        f"matrix: login as {account.user_id} refused by {synapse.url}: "
        "Invalid username or password (M_FORBIDDEN)"
    ]


def test_a_matrix_access_token_is_checked_with_whoami(
    tmp_path: Path,
    synapse: Synapse,  # noqa: F811
    account: Account,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = write_config(
        tmp_path, matrix_section(synapse.url, account.user_id, access_token=account.access_token)
    )
    migrated(good)
    capsys.readouterr()
    status, lines = doctor(good, capsys)
    assert status == 0, lines
    assert (
        f"ok matrix: {account.user_id} on {synapse.url} with the access token "
        f"(device {account.device_id})"
    ) in lines

    bad = write_config(
        tmp_path, matrix_section(synapse.url, account.user_id, access_token="syt_forged")
    )
    status, lines = doctor(bad, capsys)
    assert status == 1
    assert [line for line in lines if not line.startswith("ok ")] == [
        f"matrix: the access token of {account.user_id} is refused by {synapse.url}: "
        "Invalid access token passed. (M_UNKNOWN_TOKEN)"
    ]


def test_an_unreachable_homeserver_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    homeserver = f"http://127.0.0.1:{free_port()}"
    config = write_config(
        tmp_path, matrix_section(homeserver, "@bot:musterstadt.de", password="secret")
    )
    migrated(config)
    capsys.readouterr()
    status, lines = doctor(config, capsys)
    assert status == 1
    [problem] = [line for line in lines if not line.startswith("ok ")]
    assert problem.startswith(f"matrix: {homeserver} is not reachable: ")


def test_a_rejected_telegram_token_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with bot_api() as server:
        config = write_config(tmp_path, telegram_section(server.base_url, WRONG_TOKEN))
        migrated(config)
        capsys.readouterr()
        status, lines = doctor(config, capsys)
    assert status == 1
    assert [line for line in lines if not line.startswith("ok ")] == [
        f"telegram: the token of bot 4343434343 is rejected by {server.base_url} "
        "(check telegram.token or REGELKREIS_TELEGRAM_TOKEN with BotFather)"
    ]
    assert WRONG_TOKEN.split(":")[1] not in "\n".join(lines)


def test_an_unreachable_database_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, f'[database]\nurl = "{UNREACHABLE_PG}"\n')
    status, lines = doctor(config, capsys)
    assert status == 1
    [problem] = [line for line in lines if not line.startswith("ok ")]
    assert problem.startswith(
        "database: postgresql+psycopg://postgres@127.0.0.1:1/test is not reachable: "
    )
    assert "Connection refused" in problem


def test_doctor_creates_nothing_and_names_the_command_that_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    status, lines = doctor(config, capsys)
    assert status == 1
    assert lines[1] == (
        f"database: sqlite:///{tmp_path / 'data' / 'regelkreis.db'} does not exist yet: "
        "run regelkreis db upgrade"
    )
    assert not (tmp_path / "data").exists()


def test_an_old_schema_needs_db_upgrade_and_doctor_does_not_do_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    database = tmp_path / "data" / "regelkreis.db"
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine, "0001")
    engine.dispose()
    status, lines = doctor(config, capsys)
    assert status == 1
    assert lines[1] == (
        f"database: sqlite:///{database}: schema at revision 0001, the newest is "
        f"{head_revision()}: run regelkreis db upgrade"
    )
    status, lines = doctor(config, capsys)
    assert "schema at revision 0001" in lines[1]


def test_a_bad_configuration_is_exit_2_with_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, '[telegram]\ntoken = "kaputt"\n')
    assert main(["doctor", "--config", str(config)]) == 2
    assert "telegram.token: is not a bot token from BotFather" in capsys.readouterr().err
