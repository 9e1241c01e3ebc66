"""`regelkreis doctor`: checks the configuration, the database and each configured platform.

Every check gives one line, "ok …" or what is wrong and what to do, never a traceback; the
checks change nothing: no folder or database is created, no schema migrated, no Matrix device
left behind (a password login is logged out again) and no Telegram update consumed.
"""

from __future__ import annotations

import asyncio
import getpass
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot.config import Config, MatrixConfig, TelegramConfig
from bot.version import program_version
from storage.db import make_engine
from storage.migrate import alembic_config, current_revision, head_revision

# Long enough for a slow homeserver, short enough that an operator is not left waiting.
TIMEOUT = 20.0


@dataclass(frozen=True)
class Finding:
    """The outcome of one check: `text` says what was checked and, when not ok, what to do."""

    ok: bool
    text: str

    @property
    def line(self) -> str:
        return f"ok {self.text}" if self.ok else self.text


def database_label(config: Config) -> str:
    """The database URL as it may be shown: without a password."""
    return make_url(config.database_url).render_as_string(hide_password=True)


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory  # only when a check needs it: it is slow to load

    script = ScriptDirectory.from_config(alembic_config())
    return {revision.revision for revision in script.walk_revisions()}


def newer_schema(revision: str) -> str:
    """What to say about a schema a newer version of the program has written."""
    return (
        f"schema at revision {revision}, which regelkreis {program_version()} does not know "
        f"(its newest is {head_revision()}): a newer regelkreis upgraded this database; "
        "run that version"
    )


def check(config: Config, *, timeout: float = TIMEOUT) -> list[Finding]:
    """Every check, in the order an operator fixes things: file, database, platforms."""
    findings = [check_configuration(config), check_database(config, timeout=timeout)]
    if config.matrix is None and config.telegram is None:
        findings.append(
            Finding(True, "platforms: none configured (regelkreis run opens the console chat)")
        )
        return findings
    return findings + asyncio.run(_check_platforms(config, timeout))


async def _check_platforms(config: Config, timeout: float) -> list[Finding]:
    checks = []
    if config.matrix is not None:
        checks.append(check_matrix(config.matrix, timeout=timeout))
    if config.telegram is not None:
        checks.append(check_telegram(config.telegram, timeout=timeout))
    return list(await asyncio.gather(*checks))


# -- configuration ---------------------------------------------------------------------------


def check_configuration(config: Config) -> Finding:
    """The file was read and validated already (or the program stopped); the data folder."""
    source = str(config.source) if config.source else "embedded defaults"
    platforms = [name for name in ("matrix", "telegram") if getattr(config, name) is not None]
    municipality = config.municipality
    problem = data_dir_problem(config.data_dir)
    if problem:
        return Finding(False, f"configuration: {source}: bot.data_dir {problem}")
    return Finding(
        True,
        f"configuration: {source} ({municipality.name}, state {municipality.state}, "
        f"{municipality.timezone}; platforms: {', '.join(platforms) or 'none'})",
    )


def data_dir_problem(folder: Path) -> str | None:
    """Why the bot could not write in (or create) `folder`, or None."""
    existing = folder.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{folder}: {existing} is not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{folder}: {existing} is not writable for {getpass.getuser()}"
    return None


# -- database --------------------------------------------------------------------------------


def check_database(config: Config, *, timeout: float = TIMEOUT) -> Finding:
    """Reachable, and its schema at the newest revision; reads only."""
    label = database_label(config)
    url = make_url(config.database_url)
    if url.get_backend_name() == "sqlite":
        database = url.database
        if database and database != ":memory:" and not Path(database).exists():
            return Finding(
                False, f"database: {label} does not exist yet: run regelkreis db upgrade"
            )
        # A plain engine: the bot's own sets WAL mode on connect, which writes to the file.
        engine = create_engine(url)
    else:
        engine = make_engine(_with_connect_timeout(url, timeout).render_as_string(False))
    try:
        revision = current_revision(engine)
    except OperationalError as error:
        return Finding(False, f"database: {label} is not reachable: {_reason(error)}")
    except SQLAlchemyError as error:
        return Finding(False, f"database: {label} cannot be read: {_reason(error)}")
    finally:
        engine.dispose()
    head = head_revision()
    if revision is None:
        return Finding(False, f"database: {label} has no schema yet: run regelkreis db upgrade")
    if revision == head:
        return Finding(True, f"database: {label}: schema at revision {head} (the newest)")
    if revision in known_revisions():
        return Finding(
            False,
            f"database: {label}: schema at revision {revision}, the newest is {head}: "
            "run regelkreis db upgrade",
        )
    return Finding(False, f"database: {label}: {newer_schema(revision)}")


def _with_connect_timeout(url: URL, timeout: float) -> URL:
    if url.get_backend_name() != "postgresql" or "connect_timeout" in url.query:
        return url
    return url.update_query_dict({"connect_timeout": str(max(1, round(timeout)))})


def _reason(error: SQLAlchemyError) -> str:
    """The driver's first line, without SQLAlchemy's wrapping."""
    original: Any = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__


# -- Matrix ----------------------------------------------------------------------------------


async def check_matrix(config: MatrixConfig, *, timeout: float = TIMEOUT) -> Finding:
    """The access token through whoami, else a password login (logged out again)."""
    import aiohttp
    import nio

    client = nio.AsyncClient(
        config.homeserver,
        config.user_id,
        config=nio.AsyncClientConfig(
            encryption_enabled=False,
            store_sync_tokens=False,
            max_limit_exceeded=0,
            max_timeouts=0,
            request_timeout=timeout,
        ),
    )
    homeserver = config.homeserver
    try:
        return await asyncio.wait_for(_matrix_login(client, config), timeout)
    except TimeoutError:
        return Finding(False, f"matrix: {homeserver} did not answer within {timeout:.0f} s")
    except aiohttp.ContentTypeError as error:
        return Finding(
            False,
            f"matrix: {homeserver} answered, but not as a Matrix homeserver "
            f"(HTTP {error.status}): check matrix.homeserver",
        )
    except (aiohttp.ClientError, OSError) as error:
        return Finding(False, f"matrix: {homeserver} is not reachable: {error}")
    except Exception as error:  # one line whatever nio raises; doctor never shows a traceback
        return Finding(
            False, f"matrix: checking {config.user_id} on {homeserver} failed: {error!r}"
        )
    finally:
        await client.close()


async def _matrix_login(client: Any, config: MatrixConfig) -> Finding:
    import nio

    user, homeserver = config.user_id, config.homeserver
    if config.access_token is not None and config.access_token.get_secret_value():
        client.access_token = config.access_token.get_secret_value()
        whoami = await client.whoami()
        if isinstance(whoami, nio.WhoamiError):
            return Finding(
                False,
                f"matrix: the access token of {user} is refused by {homeserver}: "
                f"{_matrix_error(whoami)}",
            )
        if whoami.user_id != user:
            return Finding(
                False,
                f"matrix: the access token belongs to {whoami.user_id}, not to {user}: "
                "check matrix.user_id and matrix.access_token",
            )
        return Finding(
            True,
            f"matrix: {user} on {homeserver} with the access token (device {whoami.device_id})",
        )
    assert config.password is not None  # the configuration requires one of the two
    # No device id: the homeserver makes a fresh device, which the logout deletes again, so
    # the bot's own device and its crypto keys stay untouched.
    answer = await client.login(config.password.get_secret_value(), device_name="regelkreis doctor")
    if isinstance(answer, nio.LoginError):
        return Finding(
            False, f"matrix: login as {user} refused by {homeserver}: {_matrix_error(answer)}"
        )
    await client.logout()
    return Finding(True, f"matrix: logged in as {user} on {homeserver} with the password")


def _matrix_error(answer: Any) -> str:
    code = getattr(answer, "status_code", None)
    message = getattr(answer, "message", None) or "no reason given"
    return f"{message} ({code})" if code else str(message)


# -- Telegram --------------------------------------------------------------------------------


async def check_telegram(config: TelegramConfig, *, timeout: float = TIMEOUT) -> Finding:
    """getMe with the token, through the configured Bot API server."""
    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError, TelegramError
    from telegram.request import HTTPXRequest

    token = config.token.get_secret_value()
    bot_id = token.split(":", 1)[0]
    base_url = config.base_url
    request = HTTPXRequest(connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout)
    bot = Bot(token, base_url=base_url, request=request)

    def scrub(text: str) -> str:
        return text.replace(token, f"{bot_id}:…").replace(token.split(":", 1)[1], "…")

    try:
        async with bot:
            me = bot.bot
    except InvalidToken as error:
        # PTB says the same for 401 (a token Telegram does not know) and 404 (a malformed
        # token, or a base_url that is no Bot API); the server's description tells them apart.
        cause = error.__cause__ if isinstance(error.__cause__, TelegramError) else error
        if "not found" in cause.message.casefold():
            return Finding(
                False,
                f"telegram: {base_url} answers getMe with 404 Not Found: check "
                "telegram.base_url (ends in /bot) and telegram.token",
            )
        return Finding(
            False,
            f"telegram: the token of bot {bot_id} is rejected by {base_url} "
            "(check telegram.token or REGELKREIS_TELEGRAM_TOKEN with BotFather)",
        )
    except NetworkError as error:  # TimedOut included
        return Finding(False, f"telegram: {base_url} is not reachable: {scrub(error.message)}")
    except TelegramError as error:
        return Finding(False, f"telegram: getMe at {base_url} failed: {scrub(error.message)}")
    except Exception as error:  # one line whatever happens; doctor never shows a traceback
        return Finding(False, f"telegram: getMe at {base_url} failed: {scrub(repr(error))}")
    return Finding(True, f"telegram: bot @{me.username} (id {me.id}) on {base_url}")
