"""Schema upgrades through Alembic, serialised across processes by a lock."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision, written here so that a start on an up-to-date schema (every command,
# every start) reads one row instead of importing Alembic and every migration script, which
# took a third of a second. A test checks it against Alembic's own head.
HEAD_REVISION = "0010"
# Arbitrary but fixed key for pg_advisory_lock: "RGLK".
_PG_UPGRADE_LOCK = 0x52474C4B


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    """The newest revision as Alembic reads it from the migration scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The database's revision (None for an empty database), read with one query."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    # Alembic keeps one row per head; this project has one line of revisions.
    return versions[0][0] if len(versions) == 1 else None


@contextlib.contextmanager
def _upgrade_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_UPGRADE_LOCK})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_UPGRADE_LOCK})
                connection.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    lock_path = Path(database + ".upgrade-lock")
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`; a no-op when it is there already."""
    if revision == "head" and current_revision(engine) == HEAD_REVISION:
        return  # up to date: no lock, no Alembic (a schema never goes back by itself)
    from alembic import command

    config = alembic_config()
    with _upgrade_lock(engine):
        if revision == "head" and current_revision(engine) == HEAD_REVISION:
            return
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
