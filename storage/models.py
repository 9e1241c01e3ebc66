"""The Regelkreis domain (PRODUCT.md §1) as typed SQLAlchemy 2.x models."""

from __future__ import annotations

import enum
import re
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import DateTime, TypeDecorator

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes in UTC on every backend (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware one")
        value = value.astimezone(UTC)
        # SQLite keeps text; store it naive-in-UTC so that ordering and comparisons hold.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Role(enum.StrEnum):
    COORDINATION = "koordination"
    DEPARTMENT = "ressort"
    READ = "lesen"


class MeasureStatus(enum.StrEnum):
    PLANNED = "geplant"
    IN_PROGRESS = "laufend"
    DELAYED = "verzögert"
    AT_RISK = "gefährdet"
    DONE = "erledigt"
    CANCELLED = "abgebrochen"

    @property
    def is_closed(self) -> bool:
        return self in (MeasureStatus.DONE, MeasureStatus.CANCELLED)


class Direction(enum.StrEnum):
    HIGHER_IS_BETTER = "higher"
    LOWER_IS_BETTER = "lower"


class FollowUp(enum.StrEnum):
    OPEN = "offen"
    DONE = "umgesetzt"


class Verdict(enum.StrEnum):
    """A goal evaluation's finding (Zielbewertung): is the quality target met?"""

    MET = "erreicht"
    PARTLY = "teilweise"
    NOT_MET = "nicht"


class OutboxState(enum.StrEnum):
    """The way of an outbox entry (docs/reminders.md, "Delivery")."""

    PENDING = "pending"  # due (again at next_attempt_at, after a temporary failure)
    CLAIMED = "claimed"  # a deliverer holds it until lease_until (database time)
    SENT = "sent"  # delivered to delivered_to
    WAITING = "waiting"  # no recipient of its chain can be reached yet
    SUPERSEDED = "superseded"  # no longer true, or overtaken by a later reminder
    FAILED = "failed"  # before migration 0005: not sent (now waiting or superseded)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Store the value (e.g. "laufend"), not the Python member name, and use a portable
    # VARCHAR + CHECK so SQLite and PostgreSQL migrations are the same.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        values_callable=lambda members: [m.value for m in members],
        length=20,
        validate_strings=True,
    )


class Department(Base):
    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    aliases: Mapped[list[DepartmentAlias]] = relationship(
        back_populates="department", cascade="all, delete-orphan", order_by="DepartmentAlias.id"
    )
    rooms: Mapped[list[RoomLink]] = relationship(back_populates="department")

    @property
    def label(self) -> str:
        return f"{self.name} ({self.key})"


class DepartmentAlias(Base):
    __tablename__ = "department_aliases"
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(200))
    department: Mapped[Department] = relationship(back_populates="aliases")
    __table_args__ = (UniqueConstraint("alias", name="uq_department_aliases_alias"),)


class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(2))
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    absent_until: Mapped[date | None] = mapped_column(Date)
    # Where the person last wrote to the bot: reminders go there first (PRODUCT.md §3).
    last_platform: Mapped[str | None] = mapped_column(String(16))
    # Reminders go here when e-mail is configured and no chat reaches them (PRODUCT.md §3).
    email: Mapped[str | None] = mapped_column(String(255))
    # Deactivated (`person deaktivieren`): can no longer act; their measures stay, their
    # reminders go to the lead department's room.
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    department: Mapped[Department | None] = relationship()
    deputy: Mapped[Person | None] = relationship(remote_side="Person.id")
    identities: Mapped[list[ChatIdentity]] = relationship(
        back_populates="person", cascade="all, delete-orphan"
    )

    @property
    def active(self) -> bool:
        return self.deactivated_at is None


class ChatIdentity(Base):
    __tablename__ = "chat_identities"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(255))
    person: Mapped[Person] = relationship(back_populates="identities")
    __table_args__ = (
        UniqueConstraint("platform", "user_id", name="uq_chat_identities_platform_user"),
    )

    @property
    def address(self) -> str:
        return f"{self.platform}:{self.user_id}"


# Platforms a person can be reached on; "console" is the terminal chat on the server.
CHAT_PLATFORMS = ("matrix", "telegram", "console")
_MATRIX_USER = re.compile(r"^@[^:\s]+:\S+$")


def parse_chat_id(text: str) -> tuple[str, str] | None:
    """`matrix:@anna:example.org` or `telegram:123456789` -> (platform, user id)."""
    platform, _sep, user_id = text.partition(":")
    platform = platform.casefold()
    if platform not in CHAT_PLATFORMS or not user_id:
        return None
    if platform == "matrix" and not _MATRIX_USER.match(user_id):
        return None
    if platform == "telegram" and not user_id.lstrip("-").isdigit():
        return None
    return platform, user_id


class RoomLink(Base):
    """A chat room the bot knows: linked to a department and/or the coordination room."""

    __tablename__ = "room_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    room_id: Mapped[str] = mapped_column(String(255))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    is_coordination: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(2))
    # Per-room reminder settings (`erinnerungen`), interpreted by schedules/.
    reminders_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    reminder_time: Mapped[str | None] = mapped_column(String(5))
    department: Mapped[Department | None] = relationship(back_populates="rooms")
    __table_args__ = (UniqueConstraint("platform", "room_id", name="uq_room_links_platform_room"),)

    @property
    def address(self) -> str:
        return f"{self.platform}:{self.room_id}"


class FieldOfAction(Base):
    """A topic of the catalog (Handlungsfeld), not a level of the goal tree."""

    __tablename__ = "fields_of_action"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # A retired entry stays on the goals that have it, but is not offered for new goals.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Trend(Base):
    """A trend of the catalog (Demografischer Wandel, Klimawandel, …) a goal responds to."""

    __tablename__ = "trends"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


goal_trends = Table(
    "goal_trends",
    Base.metadata,
    Column("goal_id", ForeignKey("goals.id", ondelete="CASCADE"), primary_key=True),
    Column("trend_id", ForeignKey("trends.id", ondelete="CASCADE"), primary_key=True),
)

measure_participants = Table(
    "measure_participants",
    Base.metadata,
    Column("measure_id", ForeignKey("measures.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id"), primary_key=True, index=True),
    # A department's measures (`fällig JA`, `überfällig JA`) from the index alone.
    Index("ix_measure_participants_department_measure", "department_id", "measure_id"),
)


class Goal(Base):
    __tablename__ = "goals"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("goals.id"), index=True)
    field_of_action_id: Mapped[int | None] = mapped_column(ForeignKey("fields_of_action.id"))
    quality_target: Mapped[str | None] = mapped_column(Text)
    evaluation_interval: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    parent: Mapped[Goal | None] = relationship(remote_side="Goal.id", back_populates="children")
    children: Mapped[list[Goal]] = relationship(back_populates="parent", order_by="Goal.id")
    field_of_action: Mapped[FieldOfAction | None] = relationship()
    trends: Mapped[list[Trend]] = relationship(secondary=goal_trends, order_by="Trend.id")
    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="goal", order_by="Indicator.id"
    )

    @property
    def ref(self) -> str:
        return f"Z-{self.id}"


class PlanningArea(Base):
    __tablename__ = "planning_areas"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Measure(Base):
    __tablename__ = "measures"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("goals.id"), index=True)
    lead_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    start: Mapped[date | None] = mapped_column(Date)
    deadline: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[MeasureStatus] = mapped_column(
        _enum(MeasureStatus, "measure_status"), default=MeasureStatus.PLANNED
    )
    progress: Mapped[int] = mapped_column(Integer, default=0)
    planning_area_id: Mapped[int | None] = mapped_column(
        ForeignKey("planning_areas.id"), index=True
    )
    evaluation_interval: Mapped[str] = mapped_column(String(20), default="quartalsweise")
    # The plan's own number (`Nr.` of the imported spreadsheet, `nr:3.1`), beside our id.
    plan_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    # The plan's other columns, kept as they were (header → cell text), shown in the detail.
    extra_fields: Mapped[dict[str, str] | None] = mapped_column(JSON)
    # Each imported field's value as the last import set it: the base of the three-way merge
    # of a re-import (changed only in the file → update; only in chat → keep; both → conflict).
    import_baseline: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_report_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The day the next report is due (last report, or creation, plus the evaluation interval);
    # kept by storage.events so "stale" is one indexed comparison, not per-row date math.
    evaluation_due_on: Mapped[date | None] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Incremented on every change; buttons and replies carry the version they showed.
    version: Mapped[int] = mapped_column(Integer, default=1)

    goal: Mapped[Goal | None] = relationship()
    lead_department: Mapped[Department] = relationship(foreign_keys=[lead_department_id])
    participants: Mapped[list[Department]] = relationship(
        secondary=measure_participants, order_by="Department.key"
    )
    responsible: Mapped[Person | None] = relationship()
    planning_area: Mapped[PlanningArea | None] = relationship()

    __table_args__ = (
        Index("ix_measures_status_deadline", "status", "deadline"),
        # Migration 0002, measured in bench/ at 100k measures: overview and department counts
        # (overdue, due, without a current report) and the overdue/due lists filter on these
        # indexes alone and read only the rows they return. With lead_department_id inside,
        # the department scope (`lead OR participates`) is checked without reading rows too.
        Index("ix_measures_status_deadline_lead", "status", "deadline", "lead_department_id"),
        Index("ix_measures_status_due_lead", "status", "evaluation_due_on", "lead_department_id"),
        Index("ix_measures_lead_status_due", "lead_department_id", "status", "evaluation_due_on"),
    )

    @property
    def ref(self) -> str:
        return f"M-{self.id}"


class StatusReport(Base):
    __tablename__ = "status_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    old_status: Mapped[str] = mapped_column(String(20))
    new_status: Mapped[str] = mapped_column(String(20))
    old_progress: Mapped[int] = mapped_column(Integer)
    new_progress: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    origin_platform: Mapped[str | None] = mapped_column(String(16))
    origin_room: Mapped[str | None] = mapped_column(String(255))
    origin_message_id: Mapped[str | None] = mapped_column(String(255))
    person: Mapped[Person | None] = relationship()
    __table_args__ = (Index("ix_status_reports_measure_at", "measure_id", "at"),)


class Indicator(Base):
    __tablename__ = "indicators"
    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goals.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(40), default="")
    direction: Mapped[Direction] = mapped_column(_enum(Direction, "direction"))
    baseline: Mapped[float | None] = mapped_column(Float)
    baseline_date: Mapped[date | None] = mapped_column(Date)
    target_value: Mapped[float | None] = mapped_column(Float)
    target_date: Mapped[date | None] = mapped_column(Date)
    # How often a new value is expected (the evaluation intervals of measures); None: never due.
    update_interval: Mapped[str | None] = mapped_column(String(20))
    # The department that reports the values and is reminded of missing ones; None: the
    # coordination room.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    goal: Mapped[Goal] = relationship(back_populates="indicators")
    department: Mapped[Department | None] = relationship()
    values: Mapped[list[IndicatorValue]] = relationship(
        back_populates="indicator", order_by="IndicatorValue.measured_on"
    )

    def is_off_target(self, value: float) -> bool:
        if self.target_value is None:
            return False
        if self.direction is Direction.HIGHER_IS_BETTER:
            return value < self.target_value
        return value > self.target_value


class IndicatorValue(Base):
    __tablename__ = "indicator_values"
    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id", ondelete="CASCADE"))
    measured_on: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    source: Mapped[str | None] = mapped_column(String(200))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    indicator: Mapped[Indicator] = relationship(back_populates="values")
    person: Mapped[Person | None] = relationship()
    __table_args__ = (Index("ix_indicator_values_indicator_on", "indicator_id", "measured_on"),)


meeting_departments = Table(
    "meeting_departments",
    Base.metadata,
    Column("meeting_id", ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id"), primary_key=True),
)

decision_measures = Table(
    "decision_measures",
    Base.metadata,
    Column("decision_id", ForeignKey("decisions.id", ondelete="CASCADE"), primary_key=True),
    Column("measure_id", ForeignKey("measures.id"), primary_key=True),
)

decision_goals = Table(
    "decision_goals",
    Base.metadata,
    Column("decision_id", ForeignKey("decisions.id", ondelete="CASCADE"), primary_key=True),
    Column("goal_id", ForeignKey("goals.id"), primary_key=True),
)


class Meeting(Base):
    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    body: Mapped[str | None] = mapped_column(String(200))
    room_link_id: Mapped[int | None] = mapped_column(ForeignKey("room_links.id"))
    room: Mapped[RoomLink | None] = relationship()
    departments: Mapped[list[Department]] = relationship(
        secondary=meeting_departments, order_by="Department.key"
    )
    decisions: Mapped[list[Decision]] = relationship(
        back_populates="meeting", order_by="Decision.id"
    )

    @property
    def ref(self) -> str:
        return f"S-{self.id}"


class Decision(Base):
    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    resulting_changes: Mapped[str | None] = mapped_column(Text)
    follow_up: Mapped[FollowUp] = mapped_column(_enum(FollowUp, "follow_up"), default=FollowUp.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    meeting: Mapped[Meeting] = relationship(back_populates="decisions")
    measures: Mapped[list[Measure]] = relationship(secondary=decision_measures)
    goals: Mapped[list[Goal]] = relationship(secondary=decision_goals)


class GoalEvaluation(Base):
    """`bewerten Z-3 teilweise "…"`: whether a goal's quality target is met, as recorded."""

    __tablename__ = "goal_evaluations"
    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goals.id", ondelete="CASCADE"))
    verdict: Mapped[Verdict] = mapped_column(_enum(Verdict, "verdict"))
    note: Mapped[str | None] = mapped_column(Text)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    origin_platform: Mapped[str | None] = mapped_column(String(16))
    origin_room: Mapped[str | None] = mapped_column(String(255))
    origin_message_id: Mapped[str | None] = mapped_column(String(255))
    goal: Mapped[Goal] = relationship()
    person: Mapped[Person | None] = relationship()
    __table_args__ = (Index("ix_goal_evaluations_goal_at", "goal_id", "at"),)


class MeetingRecord(Base):
    """A meeting's agenda and report as they were when it started (PRODUCT.md §4), so a past
    meeting shows what was true then and the next agenda can compare against it."""

    __tablename__ = "meeting_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), unique=True
    )
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The agenda as rendered then, per language: {"de": [{"heading": …, "lines": […]}, …]}.
    agenda: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The steering report's data then (handlers/report_data.py, JSON-ready).
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # What the next agenda compares against: {"overdue": [measure ids], "open": […], …}.
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    meeting: Mapped[Meeting] = relationship()


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    # Who acted, as the chat identity, so admins named only in config are audited too.
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(40))
    entity_kind: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int] = mapped_column(Integer)
    # The entity's version after the change (measures); lets a refusal say what changed since.
    entity_version: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    origin_platform: Mapped[str] = mapped_column(String(16))
    origin_room: Mapped[str | None] = mapped_column(String(255))
    origin_message_id: Mapped[str | None] = mapped_column(String(255))
    person: Mapped[Person | None] = relationship()
    __table_args__ = (Index("ix_audit_entries_entity", "entity_kind", "entity_id", "id"),)


class OutboxEntry(Base):
    """A message the bot sends on its own, recorded in the transaction that decided it."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable idempotency key, e.g. "assign:M-12:person:4:v3"; a second insert is refused.
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    room_link_id: Mapped[int | None] = mapped_column(ForeignKey("room_links.id"))
    measure_id: Mapped[int | None] = mapped_column(ForeignKey("measures.id"))
    text: Mapped[str] = mapped_column(Text)
    quick_answers: Mapped[list[Any] | None] = mapped_column(JSON)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[OutboxState] = mapped_column(
        _enum(OutboxState, "outbox_state"), default=OutboxState.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The claim holds until then, in the database's time; renewed while sending.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # After a temporary failure: not before then (growing pauses).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Temporary failures at the recipient tried now; at the limit it is passed over.
    tries: Mapped[int] = mapped_column(Integer, default=0)
    # Recipients that failed for good or too often ("telegram:123"), skipped from then on.
    passed_over: Mapped[list[Any] | None] = mapped_column(JSON)
    # The version of the measure the message shows: its buttons carry it (PRODUCT.md §1).
    measure_version: Mapped[int | None] = mapped_column(Integer)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_to: Mapped[str | None] = mapped_column(String(300))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    person: Mapped[Person | None] = relationship()
    room: Mapped[RoomLink | None] = relationship()
    __table_args__ = (Index("ix_outbox_state_due", "state", "due_at"),)


class PendingChoice(Base):
    """An ambiguous reference awaiting the sender's numbered pick."""

    __tablename__ = "pending_choices"
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    room_id: Mapped[str] = mapped_column(String(255))
    sender_id: Mapped[str] = mapped_column(String(255))
    command_text: Mapped[str] = mapped_column(Text)
    span_start: Mapped[int] = mapped_column(Integer)
    span_end: Mapped[int] = mapped_column(Integer)
    candidates: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Choices of earlier picks in the same command (`[text, kind, id]`), carried along.
    pins: Mapped[list[Any] | None] = mapped_column(JSON)
    # The bot's list message on the platform: a reply to it picks even after other commands.
    list_message_id: Mapped[str | None] = mapped_column(String(255))
    # The sender wrote another command since: a bare number no longer picks (PRODUCT.md §2).
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)
    __table_args__ = (
        UniqueConstraint("platform", "room_id", "sender_id", name="uq_pending_choices_who"),
    )


class SentMessage(Base):
    """A bot message that showed one measure: replies to it carry the version it showed."""

    __tablename__ = "sent_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    room_id: Mapped[str] = mapped_column(String(255))
    message_id: Mapped[str] = mapped_column(String(255))
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id", ondelete="CASCADE"))
    measure_version: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    __table_args__ = (
        UniqueConstraint("platform", "room_id", "message_id", name="uq_sent_messages_msg"),
    )


class NameRevision(Base):
    """A kind's change counter: bumped in the transaction of every insert, rename or delete
    of one of its names, so lookup caches know they are behind (storage/lookup.py). The row
    lock of the bump orders the revisions of a kind as their transactions commit."""

    __tablename__ = "name_revisions"
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)


class NameChange(Base):
    """What a revision of a kind changed: the ids whose names a lookup cache reloads (0: the
    whole kind). Old revisions are pruned; a cache further behind rebuilds."""

    __tablename__ = "name_changes"
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    entity_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class Lock(Base):
    """Named leases (reminder sweep, Matrix device, Telegram poller) shared across processes."""

    __tablename__ = "locks"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProcessedMessage(Base):
    """A chat message (or button press) the bot has taken on: each is answered once."""

    __tablename__ = "processed_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(255))
    room_id: Mapped[str | None] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    __table_args__ = (UniqueConstraint("platform", "message_id", name="uq_processed_messages_msg"),)


class UnregisteredNotice(Base):
    """An unregistered sender was told whom to ask in this room on this day: once, then
    silence, so a busy room is not flooded (PRODUCT.md §5)."""

    __tablename__ = "unregistered_notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    room_id: Mapped[str] = mapped_column(String(255))
    day: Mapped[date] = mapped_column(Date)
    __table_args__ = (
        UniqueConstraint("platform", "room_id", "day", name="uq_unregistered_notices_room_day"),
    )


class PlatformState(Base):
    """Small durable values of a transport: sync token, update offset, first start time."""

    __tablename__ = "platform_state"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PlanImport(Base):
    """One applied import of a measure plan: who, which file, what it did; undone or not."""

    __tablename__ = "plan_imports"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    actor: Mapped[str] = mapped_column(String(255))
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    origin_platform: Mapped[str] = mapped_column(String(16))
    origin_room: Mapped[str | None] = mapped_column(String(255))
    # Counts of the outcome: {"created": n, "updated": n, "unchanged": n, "conflicts": n, …}.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    items: Mapped[list[PlanImportItem]] = relationship(
        back_populates="plan_import", cascade="all, delete-orphan", order_by="PlanImportItem.id"
    )


class PlanImportItem(Base):
    """What one import did to one measure, enough to undo it while the measure is unchanged."""

    __tablename__ = "plan_import_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(
        ForeignKey("plan_imports.id", ondelete="CASCADE"), index=True
    )
    measure_id: Mapped[int | None] = mapped_column(
        ForeignKey("measures.id", ondelete="SET NULL"), index=True
    )
    row: Mapped[int] = mapped_column(Integer)  # the row number in the file
    action: Mapped[str] = mapped_column(String(10))  # "created" or "updated"
    # The measure's fields before the import (and its import baseline); None when created.
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The measure's version the import left: undo only while it still has it.
    version_after: Mapped[int] = mapped_column(Integer)
    plan_import: Mapped[PlanImport] = relationship(back_populates="items")


class ReceivedFile(Base):
    """A file a person sent the bot in a room, kept under data_dir for `import` (10 minutes)."""

    __tablename__ = "received_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    room_id: Mapped[str] = mapped_column(String(255))
    sender_id: Mapped[str] = mapped_column(String(255))
    message_id: Mapped[str | None] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    file_name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(1000))  # relative to data_dir
    __table_args__ = (
        Index("ix_received_files_who", "platform", "room_id", "sender_id", "received_at"),
    )


class PendingImport(Base):
    """A previewed chat import awaiting `import bestätigen` from the same sender and room."""

    __tablename__ = "pending_imports"
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    room_id: Mapped[str] = mapped_column(String(255))
    sender_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    file_id: Mapped[int] = mapped_column(ForeignKey("received_files.id", ondelete="CASCADE"))
    # A digest of the preview shown: the confirmation applies only if recomputing matches.
    preview_digest: Mapped[str] = mapped_column(String(64))
    file: Mapped[ReceivedFile] = relationship()
    __table_args__ = (
        UniqueConstraint("platform", "room_id", "sender_id", name="uq_pending_imports_who"),
    )
