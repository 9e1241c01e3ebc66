"""`regelkreis db upgrade` and `regelkreis demo`, and the schema-checked app every command uses."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from bot import doctor
from bot.bootstrap import App, bootstrap
from bot.cli_errors import DATA_DIR, DATABASE, CliError
from bot.config import Config
from handlers.meeting_records import freeze_started_meetings
from storage.demo import DEMO_COORDINATOR, ensure_demo
from storage.migrate import HEAD_REVISION, current_revision, upgrade
from storage.models import Base, Department, Goal, Indicator, Measure, Meeting, Person

# ensure_demo's own sign that the example municipality is there: its coordination office.
DEMO_DEPARTMENT = "BB"
# What the example municipality consists of, as the operator is told.
_COUNTED: list[tuple[type[Base], str, str]] = [
    (Department, "department", "departments"),
    (Person, "person", "people"),
    (Goal, "goal", "goals"),
    (Measure, "measure", "measures"),
    (Indicator, "indicator", "indicators"),
    (Meeting, "meeting", "meetings"),
]
# Rows of these make a database another municipality's (the catalogs are in every database).
_OWN_DATA = (Department, Person, Goal, Measure)


def upgraded_app(config: Config) -> App:
    """bootstrap() with the schema upgrade it does, refusing a schema newer than the program."""
    return _upgraded(config)[0]


def _upgraded(config: Config) -> tuple[App, str | None, str | None]:
    """The app, and the schema revision before and after the upgrade."""
    usable_data_dir(config)
    where = doctor.database_label(config)
    try:
        app = bootstrap(config, migrate=False)
    except OSError as error:  # the SQLite file's folder cannot be created
        detail = f"{error.filename}: {error.strerror}" if error.filename else str(error)
        raise CliError(f"the database {where} cannot be created: {detail}", DATABASE) from error
    try:
        before = current_revision(app.engine)
        if before not in (None, HEAD_REVISION) and before not in doctor.known_revisions():
            raise CliError(f"the database {where}: {doctor.newer_schema(before)}", DATABASE)
        upgrade(app.engine)
        return app, before, current_revision(app.engine)
    except OperationalError:
        raise  # not reachable: bot/cli.py says so
    except SQLAlchemyError as error:
        # Reachable, but not usable: no right to create the tables, a foreign schema.
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise CliError(f"the database {where} cannot be used: {reason}", DATABASE) from error


def usable_data_dir(config: Config) -> None:
    """Create bot.data_dir if need be; CliError (status 4) when it cannot be, or is not
    writable — before anything is written there, so the operator reads why, not a traceback."""
    folder = config.data_dir
    problem = doctor.data_dir_problem(folder)
    if problem is None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            problem = f"{folder}: {error.strerror}"
    if problem is not None:
        raise CliError(f"bot.data_dir is not usable: {problem}", DATA_DIR)


def upgrade_schema(config: Config) -> str:
    """`db upgrade`: create or upgrade the schema, and say which."""
    _app, before, after = _upgraded(config)
    where = doctor.database_label(config)
    if before is None:
        return f"Database schema created (revision {after}) in {where}."
    if before == after:
        return f"Database schema is up to date (revision {after}) in {where}."
    return f"Database schema upgraded from revision {before} to {after} in {where}."


def ensure_example(app: App) -> str:
    """Create the example municipality in an empty database; what was done, for the operator.

    A database with another municipality's departments, people, goals or measures is refused
    (CliError): the example would mix with real data, or collide with its keys.
    """
    with app.uows(write=True) as uow:
        session = uow.session
        if _demo_is_there(session):
            return (
                f"Example municipality Musterstadt exists already ({_counts(session)}); "
                "nothing created."
            )
        other = _counts(session, _OWN_DATA)
        if other:
            raise CliError(
                f"the database holds another municipality's data ({other}); the example "
                "municipality Musterstadt goes into an empty database only: use another "
                "database (--config with its own data_dir or database.url)"
            )
        now = app.clock()
        ensure_demo(session, now.astimezone(app.config.municipality.zone).date())
        session.flush()
        # The example's past meeting shows its agenda as it was then (a frozen record).
        freeze_started_meetings(session, now, app.rules)
        created = _counts(session)
        uow.commit()
    return f"Example municipality Musterstadt created: {created}."


def _demo_is_there(session: Session) -> bool:
    """ensure_demo's test (department BB), and its coordinator there, so that another
    municipality's BB (a Bauamt) is not taken for the example."""
    department = session.scalar(select(Department).where(Department.key == DEMO_DEPARTMENT))
    if department is None:
        return False
    return (
        session.scalar(
            select(Person.id).where(
                Person.department_id == department.id, Person.name == DEMO_COORDINATOR
            )
        )
        is not None
    )


def _counts(session: Session, models: Sequence[type[Base]] | None = None) -> str:
    """E.g. "10 departments, 20 people, 50 measures": the rows there are, of these kinds."""
    parts = []
    for model, one, many in _COUNTED:
        if models is not None and model not in models:
            continue
        count = session.scalar(select(func.count()).select_from(model)) or 0
        if count or models is None:
            parts.append(f"{count} {one if count == 1 else many}")
    return ", ".join(parts)
