"""A synthetic municipality of any size, bulk-inserted with SQLAlchemy Core, deterministic per seed.

Titles are composed from a shared vocabulary ("Ausbau der Sprachförderung in Kitas der
Nordstadt"), so the same words recur across many measures and goals, as in real plans; a
fragment such as `sprachförd` therefore hits about one measure in forty. Every date is
relative to the fixed day `TODAY` (Friday, 27 November 2026), like the example municipality.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Table, insert, select, text
from sqlalchemy.orm import Session

from storage.demo import FIELDS_OF_ACTION, TRENDS
from storage.intervals import add_interval
from storage.models import Base, MeasureStatus, Role

BERLIN = ZoneInfo("Europe/Berlin")
TODAY = date(2026, 11, 27)
NOW = datetime.combine(TODAY, time(10, 0), tzinfo=BERLIN).astimezone(UTC)
PLATFORM = "console"
COORDINATION_ROOM = "koordination"

# key, name, aliases, weight as lead department
DEPARTMENTS: list[tuple[str, str, tuple[str, ...], int]] = [
    ("BB", "Bildungsbüro", ("Bildungsbuero", "Steuerungsstelle"), 5),
    ("JA", "Jugendamt", ("Amt 51", "Jugend"), 15),
    ("SA", "Schulamt", ("Amt 40", "Schule"), 12),
    ("SP", "Stadtplanung", ("Amt 61", "Planung"), 10),
    ("UA", "Umweltamt", ("Amt 31", "Umwelt"), 8),
    ("SOZ", "Sozialamt", ("Amt 50", "Soziales"), 12),
    ("KA", "Kulturamt", ("Amt 41", "Kultur"), 6),
    ("WF", "Wirtschaftsförderung", ("Amt 80", "Wirtschaft"), 6),
    ("GA", "Gesundheitsamt", ("Amt 53", "Gesundheit"), 8),
    ("IB", "Integrationsbüro", ("Integrationsbuero", "Integration"), 8),
    ("SPO", "Sportamt", ("Amt 52", "Sport"), 5),
    ("GM", "Gebäudemanagement", ("Amt 65", "Hochbau"), 5),
]

# name, locative phrase
AREAS: list[tuple[str, str]] = [
    ("Altstadt", "in der Altstadt"),
    ("Nordstadt", "in der Nordstadt"),
    ("Südvorstadt", "in der Südvorstadt"),
    ("Am Weinberg", "am Weinberg"),
    ("Hafenviertel", "im Hafenviertel"),
    ("Gartenstadt", "in der Gartenstadt"),
    ("Bahnhofsviertel", "im Bahnhofsviertel"),
    ("Oststadt", "in der Oststadt"),
    ("Weststadt", "in der Weststadt"),
    ("Neustadt", "in der Neustadt"),
    ("Innenstadt", "in der Innenstadt"),
    ("Schlossviertel", "im Schlossviertel"),
    ("Kirchberg", "am Kirchberg"),
    ("Lindenau", "in Lindenau"),
    ("Eichenhain", "in Eichenhain"),
    ("Mühlenviertel", "im Mühlenviertel"),
    ("Rosenhöhe", "auf der Rosenhöhe"),
    ("Sonnenberg", "am Sonnenberg"),
    ("Waldsiedlung", "in der Waldsiedlung"),
    ("Feldmark", "in der Feldmark"),
    ("Heidesiedlung", "in der Heidesiedlung"),
    ("Auenviertel", "im Auenviertel"),
    ("Kanalviertel", "im Kanalviertel"),
    ("Marktviertel", "im Marktviertel"),
    ("Domviertel", "im Domviertel"),
    ("Universitätsviertel", "im Universitätsviertel"),
    ("Schillerviertel", "im Schillerviertel"),
    ("Goethepark", "am Goethepark"),
    ("Seeblick", "in Seeblick"),
    ("Brunnenviertel", "im Brunnenviertel"),
]

# nominative, genitive (with article)
TOPICS: list[tuple[str, str]] = [
    ("Sprachförderung", "der Sprachförderung"),
    ("Schulsozialarbeit", "der Schulsozialarbeit"),
    ("Quartiersmanagement", "des Quartiersmanagements"),
    ("Elternbegleitung", "der Elternbegleitung"),
    ("Hausaufgabenhilfe", "der Hausaufgabenhilfe"),
    ("Ganztagsbetreuung", "der Ganztagsbetreuung"),
    ("Kindertagesbetreuung", "der Kindertagesbetreuung"),
    ("Berufsorientierung", "der Berufsorientierung"),
    ("Jugendsozialarbeit", "der Jugendsozialarbeit"),
    ("Lesepatenschaften", "der Lesepatenschaften"),
    ("Medienbildung", "der Medienbildung"),
    ("Gesundheitsförderung", "der Gesundheitsförderung"),
    ("Bewegungsförderung", "der Bewegungsförderung"),
    ("Hitzeschutz", "des Hitzeschutzes"),
    ("Schulwegsicherung", "der Schulwegsicherung"),
    ("Spielplatzsanierung", "der Spielplatzsanierung"),
    ("Entsiegelung", "der Entsiegelung"),
    ("Stadtbegrünung", "der Stadtbegrünung"),
    ("Wohnberatung", "der Wohnberatung"),
    ("Schuldnerberatung", "der Schuldnerberatung"),
    ("Mietschuldenprävention", "der Mietschuldenprävention"),
    ("Seniorenarbeit", "der Seniorenarbeit"),
    ("Nachbarschaftshilfe", "der Nachbarschaftshilfe"),
    ("Stadtteilkultur", "der Stadtteilkultur"),
    ("Vereinsförderung", "der Vereinsförderung"),
    ("Integrationsberatung", "der Integrationsberatung"),
    ("Familienbildung", "der Familienbildung"),
    ("Frühe Hilfen", "der Frühen Hilfen"),
    ("Inklusion", "der Inklusion"),
    ("Digitalisierung", "der Digitalisierung"),
    ("Ausbildungsförderung", "der Ausbildungsförderung"),
    ("Streetwork", "des Streetworks"),
    ("Jugendbeteiligung", "der Jugendbeteiligung"),
    ("Bürgerbeteiligung", "der Bürgerbeteiligung"),
    ("Energieberatung", "der Energieberatung"),
    ("Klimaanpassung", "der Klimaanpassung"),
    ("Radverkehrsförderung", "der Radverkehrsförderung"),
    ("Sprachmittlung", "der Sprachmittlung"),
    ("Schulsanierung", "der Schulsanierung"),
    ("Lernförderung", "der Lernförderung"),
    ("Sprachstandserhebung", "der Sprachstandserhebung"),
]
ACTIONS = [
    "Ausbau",
    "Begleitung",
    "Verstetigung",
    "Evaluation",
    "Konzeption",
    "Weiterentwicklung",
    "Stärkung",
    "Qualifizierung",
    "Vernetzung",
    "Einführung",
    "Sicherung",
    "Neuaufstellung",
]
TARGETS = [
    "in Kitas",
    "an Grundschulen",
    "an Oberschulen",
    "im Ganztag",
    "für Eltern",
    "für Jugendliche",
    "für Geflüchtete",
    "für Seniorinnen und Senioren",
    "in Familienzentren",
    "im Übergang Schule–Beruf",
    "für Alleinerziehende",
    "in Horten",
    "für Zugewanderte",
    "im Quartier",
]
PROJECT_WORDS = ["Modellprojekt", "Pilotprojekt", "Konzept", "Netzwerk", "Bedarfsanalyse"]
SUFFIXES = ["", "", "", "", " (Phase 2)", " 2027", " 2028", " – Pilotphase", " (Verlängerung)"]
GOAL_VERBS = ["stärken", "ausbauen", "sichern", "verbessern", "weiterentwickeln", "verstetigen"]
GUIDING_PRINCIPLES = [
    "Bildungsgerechtigkeit für alle Kinder und Jugendlichen",
    "Lebenswerte und klimagerechte Stadtteile",
    "Gesund aufwachsen in unserer Stadt",
    "Teilhabe für alle Generationen",
    "Gute Arbeit und Ausbildung vor Ort",
    "Zusammenhalt in Vielfalt",
    "Bezahlbares Wohnen für alle",
    "Digitale und bürgernahe Verwaltung",
    "Lebendige Kultur und starke Vereine",
    "Sichere und gesunde Mobilität",
]
INTERVALS = [("monatlich", 10), ("quartalsweise", 50), ("halbjährlich", 20), ("jährlich", 12)]
FIRST_NAMES = [
    "Anna",
    "Jonas",
    "Markus",
    "Julia",
    "Stefan",
    "Katrin",
    "Michael",
    "Sabine",
    "Tobias",
    "Nicole",
    "Andreas",
    "Monika",
    "Lukas",
    "Daniel",
    "Birgit",
    "Claudia",
    "Sarah",
    "Yusuf",
    "Petra",
    "Martin",
    "Thomas",
    "Susanne",
    "Christian",
    "Andrea",
    "Frank",
    "Claudia",
    "Jan",
    "Lena",
    "Felix",
    "Miriam",
    "Sebastian",
    "Ayşe",
    "Mehmet",
    "Olga",
    "Piotr",
    "Hannah",
    "Leon",
    "Paula",
    "Emre",
    "Greta",
    "Ole",
    "Ines",
    "Kai",
    "Nadine",
    "Ralf",
    "Svenja",
    "Till",
    "Ute",
    "Volker",
    "Wiebke",
    "Zoe",
]
LAST_NAMES = [
    "Schmidt",
    "Weber",
    "Becker",
    "Richter",
    "Wagner",
    "Schulz",
    "Fischer",
    "Braun",
    "Keller",
    "Franke",
    "Wolf",
    "Schäfer",
    "Krause",
    "Lorenz",
    "Koch",
    "Berger",
    "Miller",
    "Demir",
    "Vogel",
    "Kaiser",
    "Müller",
    "Meyer",
    "Hoffmann",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Hartmann",
    "Krüger",
    "Werner",
    "Lange",
    "Schmitz",
    "Meier",
    "Krämer",
    "Jung",
    "Hahn",
    "Schubert",
    "Vogt",
    "Friedrich",
    "Günther",
    "Kowalski",
    "Yılmaz",
    "Albrecht",
    "Ludwig",
    "Winkler",
    "Sommer",
    "Graf",
    "Brandt",
    "Haas",
    "Schreiber",
    "Dietrich",
    "Kühn",
    "Pohl",
    "Engel",
    "Horn",
    "Busch",
    "Bergmann",
    "Thomas",
    "Voigt",
    "Sauer",
]
NOTES = [
    "Träger gefunden",
    "Auftaktveranstaltung durchgeführt",
    "Fachkräfte eingestellt",
    "Fördermittel bewilligt",
    "Kooperationsvertrag unterzeichnet",
    "Zwischenbericht liegt vor",
    "Personal fehlt, Ausschreibung läuft",
    "Abstimmung mit dem Schulamt steht aus",
    "Räume gefunden",
    "Verzögerung durch Vergabeverfahren",
    "Erste Gruppe gestartet",
    "Bedarfsanalyse abgeschlossen",
    "Elternabend durchgeführt",
    "Haushaltsmittel gesperrt",
    None,
    None,
]
DESCRIPTIONS = [
    "Gemeinsame Maßnahme mehrerer Ressorts im Rahmen des integrierten Handlungskonzepts.",
    "Die Umsetzung erfolgt mit freien Trägern; die Federführung koordiniert die Beteiligten.",
    "Gefördert aus Landesmitteln; Verwendungsnachweis zum Jahresende.",
    "Ergebnisse fließen in den Bildungsbericht und die Sozialraumplanung ein.",
]

OPEN = (
    MeasureStatus.PLANNED,
    MeasureStatus.IN_PROGRESS,
    MeasureStatus.DELAYED,
    MeasureStatus.AT_RISK,
)
_PAST_STATUS = [
    (MeasureStatus.DONE, 55),
    (MeasureStatus.CANCELLED, 5),
    (MeasureStatus.IN_PROGRESS, 15),
    (MeasureStatus.DELAYED, 15),
    (MeasureStatus.AT_RISK, 10),
]
_FUTURE_STATUS = [
    (MeasureStatus.PLANNED, 25),
    (MeasureStatus.IN_PROGRESS, 45),
    (MeasureStatus.DELAYED, 12),
    (MeasureStatus.AT_RISK, 6),
    (MeasureStatus.DONE, 10),
    (MeasureStatus.CANCELLED, 2),
]
_STANDING_STATUS = [
    (MeasureStatus.PLANNED, 20),
    (MeasureStatus.IN_PROGRESS, 70),
    (MeasureStatus.DONE, 10),
]


@dataclass
class Generated:
    """What the benchmark needs to know about a generated municipality."""

    n_measures: int
    n_people: int
    n_goals: int
    n_reports: int
    n_participants: int
    coordinator: str  # console user id of a coordinator
    member: str  # console user id of the department member with the most open measures
    member_open_measures: int
    member_department: str  # key of the member's department
    member_room: str  # console room linked to the member's department
    detail_ids: list[int] = field(default_factory=list)  # measures for `status M-<id>`
    report_ids: list[int] = field(default_factory=list)  # open measures the member may report


def _choice(rng: random.Random, weighted: Sequence[tuple[Any, int]]) -> Any:
    values = [v for v, _w in weighted]
    weights = [w for _v, w in weighted]
    return rng.choices(values, weights)[0]


def measure_title(rng: random.Random) -> str:
    topic, topic_gen = rng.choice(TOPICS)
    area, loc = rng.choice(AREAS)
    pattern = rng.randrange(6)
    if pattern == 0:
        title = f"{topic} {rng.choice(TARGETS)} {loc}"
    elif pattern == 1:
        title = f"{rng.choice(ACTIONS)} {topic_gen} {rng.choice(TARGETS)}"
    elif pattern == 2:
        title = f"{rng.choice(ACTIONS)} {topic_gen} {loc}"
    elif pattern == 3:
        title = f"{topic}: {rng.choice(PROJECT_WORDS)} {area}"
    elif pattern == 4:
        return f"{topic} {rng.choice(TARGETS)} – {area}"
    else:
        title = f"{rng.choice(ACTIONS)} {topic_gen}"
    return title + rng.choice(SUFFIXES)


def _moment(rng: random.Random, day: date) -> datetime:
    """A time during the working day, as an aware UTC datetime."""
    local = datetime.combine(day, time(8, 0), tzinfo=BERLIN) + timedelta(
        seconds=rng.randrange(9 * 3600)
    )
    return local.astimezone(UTC)


def _insert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 10_000):
        connection.execute(insert(table), rows[start : start + 10_000])


def _catalog_ids(connection: Connection, table: Table, names: list[str]) -> list[int]:
    """The ids of the catalog entries of these names, in the order of `names`."""
    rows = dict(connection.execute(select(table.c.name, table.c.id)).tuples().all())
    return [rows[name] for name in names]


def generate(target: Session | Connection | Engine, n_measures: int, seed: int = 1) -> Generated:
    """Fill a migrated, empty database; a Session or Connection is left for the caller to
    commit, an Engine gets its own transaction."""
    if isinstance(target, Engine):
        with target.begin() as connection:
            return _generate(connection, n_measures, seed)
    connection = target.connection() if isinstance(target, Session) else target
    return _generate(connection, n_measures, seed)


def _generate(connection: Connection, n_measures: int, seed: int) -> Generated:
    rng = random.Random(seed)
    tables = Base.metadata.tables

    # -- departments, rooms, areas, fields and trends (the municipality is configuration) --
    departments = [
        {"id": i, "key": key, "name": name} for i, (key, name, _a, _w) in enumerate(DEPARTMENTS, 1)
    ]
    _insert(connection, tables["departments"], departments)
    aliases = [
        {"department_id": i, "alias": alias}
        for i, (_k, _n, names, _w) in enumerate(DEPARTMENTS, 1)
        for alias in names
    ]
    _insert(
        connection, tables["department_aliases"], [a | {"id": n} for n, a in enumerate(aliases, 1)]
    )
    rooms = [
        {
            "id": i,
            "platform": PLATFORM,
            "room_id": f"raum-{key.lower()}",
            "department_id": i,
            "is_coordination": False,
            "reminders_enabled": True,
        }
        for i, (key, _n, _a, _w) in enumerate(DEPARTMENTS, 1)
    ]
    rooms.append(
        {
            "id": len(rooms) + 1,
            "platform": PLATFORM,
            "room_id": COORDINATION_ROOM,
            "department_id": None,
            "is_coordination": True,
            "reminders_enabled": True,
        }
    )
    _insert(connection, tables["room_links"], rooms)
    _insert(
        connection,
        tables["planning_areas"],
        [{"id": i, "name": name} for i, (name, _loc) in enumerate(AREAS, 1)],
    )
    # The catalogs come with every database (migration 0003): use their rows.
    field_ids = _catalog_ids(connection, tables["fields_of_action"], FIELDS_OF_ACTION)
    trend_ids = _catalog_ids(connection, tables["trends"], TRENDS)

    # -- people: coordinators in the Bildungsbüro, members and readers everywhere --------
    n_people = max(2 * len(DEPARTMENTS), n_measures // 50)
    names = [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES]
    names = list(dict.fromkeys(names))
    rng.shuffle(names)
    while len(names) < n_people:  # beyond 3000 people: middle initials keep names unique
        names += [f"{n.split()[0]} {chr(65 + len(names) % 26)}. {n.split()[-1]}" for n in names]
        names = list(dict.fromkeys(names))
    people: list[dict[str, Any]] = []
    dept_weights = [w for _k, _n, _a, w in DEPARTMENTS]
    n_coordinators = max(2, n_people // 25)
    for person_id in range(1, n_people + 1):
        if person_id <= n_coordinators:
            role, department_id = Role.COORDINATION, 1
        elif person_id <= n_coordinators + len(DEPARTMENTS):
            role, department_id = Role.DEPARTMENT, person_id - n_coordinators
        else:
            role = Role.READ if rng.random() < 0.12 else Role.DEPARTMENT
            department_id = rng.choices(range(1, len(DEPARTMENTS) + 1), dept_weights)[0]
        people.append(
            {
                "id": person_id,
                "name": names[person_id - 1],
                "department_id": department_id,
                "role": role,
                "is_admin": person_id == 1,
                "language": None,
                "deputy_id": None,
                "absent_until": None,
                "last_platform": PLATFORM,
            }
        )
    _insert(connection, tables["people"], people)
    _insert(
        connection,
        tables["chat_identities"],
        [
            {"id": p["id"], "person_id": p["id"], "platform": PLATFORM, "user_id": p["name"]}
            for p in people
        ],
    )
    # Who gets measures: a few people carry many, most carry some (Pareto weights).
    responsible_pool: dict[int, tuple[list[int], list[float]]] = {}
    for p in people:
        if p["role"] is not Role.READ:
            ids, weights = responsible_pool.setdefault(p["department_id"], ([], []))
            ids.append(p["id"])
            weights.append(min(rng.paretovariate(2.0), 6.0))

    # -- goal tree: Leitziele -> Handlungsfelder -> Ziele -------------------------------
    n_goals = max(10, n_measures // 100)
    n_top = max(2, n_goals // 25)
    n_middle = max(3, n_goals // 5)
    goals: list[dict[str, Any]] = []
    goal_trends: list[dict[str, Any]] = []
    for goal_id in range(1, n_goals + 1):
        topic, _gen = rng.choice(TOPICS)
        area, loc = rng.choice(AREAS)
        if goal_id <= n_top:
            principle = GUIDING_PRINCIPLES[(goal_id - 1) % len(GUIDING_PRINCIPLES)]
            title, parent, interval = (
                principle if goal_id <= len(GUIDING_PRINCIPLES) else f"{principle} ({area})",
                None,
                "jährlich",
            )
        elif goal_id <= n_top + n_middle:
            title = f"{topic} {rng.choice(GOAL_VERBS)}"
            parent, interval = rng.randint(1, n_top), "halbjährlich"
        else:
            if rng.random() < 0.5:
                title = f"{topic} {rng.choice(TARGETS)} {rng.choice(GOAL_VERBS)}"
            else:
                title = f"{topic} {loc} {rng.choice(GOAL_VERBS)}"
            parent = rng.randint(n_top + 1, n_top + n_middle)
            interval = _choice(rng, INTERVALS)
        goals.append(
            {
                "id": goal_id,
                "title": title,
                "parent_id": parent,
                "field_of_action_id": None if parent is None else rng.choice(field_ids),
                "quality_target": None,
                "evaluation_interval": interval,
                "created_at": _moment(rng, TODAY - timedelta(days=rng.randint(400, 900))),
            }
        )
        for trend_id in sorted(rng.sample(trend_ids, rng.randint(0, 2))):
            goal_trends.append({"goal_id": goal_id, "trend_id": trend_id})
    # Parents first: the self-reference must exist when a child is inserted (PostgreSQL).
    _insert(connection, tables["goals"], goals)
    _insert(connection, tables["goal_trends"], goal_trends)
    leaf_goals = list(range(n_top + n_middle + 1, n_goals + 1))

    # -- measures, participants and status reports --------------------------------------
    measures: list[dict[str, Any]] = []
    participants: list[dict[str, Any]] = []
    reports: list[dict[str, Any]] = []
    n_departments = len(DEPARTMENTS)
    interval_choices = [*INTERVALS, ("6 Wochen", 8)]
    for measure_id in range(1, n_measures + 1):
        lead = rng.choices(range(1, n_departments + 1), dept_weights)[0]
        roll = rng.random()
        deadline: date | None
        if roll < 0.04:
            deadline = None
            status = _choice(rng, _STANDING_STATUS)
            start = TODAY - timedelta(days=rng.randint(30, 900))
        else:
            deadline = TODAY + timedelta(days=rng.randint(-365, 365))
            status = _choice(rng, _PAST_STATUS if deadline < TODAY else _FUTURE_STATUS)
            start = deadline - timedelta(days=rng.randint(90, 900))
        created_day = min(start - timedelta(days=rng.randint(0, 60)), TODAY - timedelta(days=1))
        if start > TODAY:
            created_day = TODAY - timedelta(days=rng.randint(1, 120))
        created_at = _moment(rng, created_day)
        progress = {
            MeasureStatus.PLANNED: 0,
            MeasureStatus.IN_PROGRESS: rng.randrange(5, 96, 5),
            MeasureStatus.DELAYED: rng.randrange(5, 81, 5),
            MeasureStatus.AT_RISK: rng.randrange(0, 61, 5),
            MeasureStatus.DONE: 100,
            MeasureStatus.CANCELLED: rng.randrange(0, 71, 5),
        }[status]
        responsible: int | None = None
        pool = responsible_pool.get(lead)
        if pool and rng.random() < 0.85:
            responsible = rng.choices(pool[0], pool[1])[0]
        interval = _choice(rng, interval_choices)

        n_reports = (
            0
            if status is MeasureStatus.PLANNED and rng.random() < 0.7
            else (rng.choices((0, 1, 2, 3), (15, 35, 35, 15))[0])
        )
        span = max(1, (TODAY - created_day).days)
        days = sorted(rng.randint(1, span) for _ in range(n_reports))
        old_status, old_progress = MeasureStatus.PLANNED, 0
        last_report_at: datetime | None = None
        for n, day_offset in enumerate(days, 1):
            at = _moment(rng, created_day + timedelta(days=day_offset))
            if at >= NOW:
                at = NOW - timedelta(hours=n + 1)
            final = n == n_reports
            new_status = status if final else MeasureStatus.IN_PROGRESS
            new_progress = progress if final else min(progress, old_progress + rng.randint(5, 30))
            reports.append(
                {
                    "measure_id": measure_id,
                    "person_id": responsible,
                    "at": at,
                    "old_status": old_status.value,
                    "new_status": new_status.value,
                    "old_progress": old_progress,
                    "new_progress": new_progress,
                    "note": rng.choice(NOTES),
                    "origin_platform": PLATFORM,
                    "origin_room": None,
                    "origin_message_id": None,
                }
            )
            old_status, old_progress = new_status, new_progress
            last_report_at = at if last_report_at is None else max(last_report_at, at)
        # What storage.events computes on flush; bulk inserts bypass that hook.
        since = last_report_at or created_at
        measures.append(
            {
                "id": measure_id,
                "title": measure_title(rng),
                "description": rng.choice(DESCRIPTIONS) if rng.random() < 0.3 else None,
                "goal_id": rng.choice(leaf_goals) if rng.random() < 0.9 else None,
                "lead_department_id": lead,
                "responsible_id": responsible,
                "start": start,
                "deadline": deadline,
                "status": status,
                "progress": progress,
                "planning_area_id": rng.randint(1, len(AREAS)) if rng.random() < 0.7 else None,
                "evaluation_interval": interval,
                "last_report_at": last_report_at,
                "evaluation_due_on": add_interval(since.astimezone(BERLIN).date(), interval),
                "created_at": created_at,
                "version": 1 + n_reports,
            }
        )
        roll = rng.random()
        if roll < 0.35:
            others = [d for d in range(1, n_departments + 1) if d != lead]
            for department_id in sorted(rng.sample(others, 1 if roll < 0.25 else 2)):
                participants.append({"measure_id": measure_id, "department_id": department_id})
    _insert(connection, tables["measures"], measures)
    _insert(connection, tables["measure_participants"], participants)
    for report_id, row in enumerate(reports, 1):
        row["id"] = report_id
    _insert(connection, tables["status_reports"], reports)
    if connection.dialect.name == "postgresql":
        # Explicit ids leave the serial sequences behind; later inserts must not collide.
        for name in (
            "departments",
            "department_aliases",
            "room_links",
            "planning_areas",
            "people",
            "chat_identities",
            "goals",
            "measures",
            "status_reports",
        ):
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT max(id) FROM {name}))"
                )
            )

    # -- what the benchmark acts on -----------------------------------------------------
    open_by_person = Counter(
        m["responsible_id"]
        for m in measures
        if m["status"] in OPEN and m["responsible_id"] is not None
    )
    roles = {p["id"]: p for p in people}
    member_id = next(
        pid for pid, _n in open_by_person.most_common() if roles[pid]["role"] is Role.DEPARTMENT
    )
    member = roles[member_id]
    member_department = member["department_id"]
    report_ids = [
        m["id"]
        for m in measures
        if m["status"] in OPEN and m["lead_department_id"] == member_department
    ]
    step = max(1, n_measures // 97)
    return Generated(
        n_measures=n_measures,
        n_people=n_people,
        n_goals=n_goals,
        n_reports=len(reports),
        n_participants=len(participants),
        coordinator=people[0]["name"],
        member=member["name"],
        member_open_measures=open_by_person[member_id],
        member_department=DEPARTMENTS[member_department - 1][0],
        member_room=f"raum-{DEPARTMENTS[member_department - 1][0].lower()}",
        detail_ids=list(range(1, n_measures + 1, step)),
        report_ids=rng.sample(report_ids, min(len(report_ids), 500)),
    )
