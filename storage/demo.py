"""The example municipality Musterstadt for `regelkreis demo`, `chat --demo` and the tests.

Musterstadt (Brandenburg, state BB, Europe/Berlin) has ten departments: BB Bildungsbüro
(coordination), JA Jugendamt, SA Schulamt, SP Stadtplanung, UA Umweltamt, SOZ Sozialamt,
KA Kulturamt, WF Wirtschaftsförderung, GA Gesundheitsamt and IB Integrationsbüro. The
coordinators are Anna Schmidt (admin, the default console user) and Jonas Weber, both in the
Bildungsbüro. Every date is relative to the `today` given to `ensure_demo`, so the same
`today` always yields the same data, and there are always overdue, due and stale measures.
On a fresh database the ids are stable: goals Z-1…Z-17 (Leitziele, Ziele, Teilziele),
measures M-1…M-50, meetings S-1 (past), S-2 (in 12 days) and S-3.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.events import DEFAULT_ZONE
from storage.intervals import add_interval
from storage.lookup import normalize
from storage.models import (
    ChatIdentity,
    Decision,
    Department,
    DepartmentAlias,
    Direction,
    FieldOfAction,
    FollowUp,
    Goal,
    GoalEvaluation,
    Indicator,
    IndicatorValue,
    Measure,
    MeasureStatus,
    Meeting,
    Person,
    PlanningArea,
    Role,
    RoomLink,
    StatusReport,
    Trend,
    Verdict,
)

__all__ = ["DEMO_COORDINATOR", "ensure_demo"]

DEMO_COORDINATOR = "Anna Schmidt"

_TZ = DEFAULT_ZONE  # Musterstadt lies in Brandenburg
_Entry = TypeVar("_Entry", FieldOfAction, Trend)

# Short names keep the measure table below readable, one measure per block.
P = MeasureStatus.PLANNED
L = MeasureStatus.IN_PROGRESS
V = MeasureStatus.DELAYED
G = MeasureStatus.AT_RISK
E = MeasureStatus.DONE
A = MeasureStatus.CANCELLED

_DEPARTMENTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("BB", "Bildungsbüro", ("Bildungsbuero", "Steuerungsstelle")),
    ("JA", "Jugendamt", ("Amt 51", "Jugend")),
    ("SA", "Schulamt", ("Amt 40", "Schule")),
    ("SP", "Stadtplanung", ("Amt 61", "Planung")),
    ("UA", "Umweltamt", ("Amt 31", "Umwelt")),
    ("SOZ", "Sozialamt", ("Amt 50", "Soziales")),
    ("KA", "Kulturamt", ("Amt 41", "Kultur")),
    ("WF", "Wirtschaftsförderung", ("Amt 80", "Wirtschaft")),
    ("GA", "Gesundheitsamt", ("Amt 53", "Gesundheit")),
    ("IB", "Integrationsbüro", ("Integrationsbuero", "Integration")),
]


@dataclass(frozen=True)
class _PersonSpec:
    name: str
    department: str | None
    role: Role
    is_admin: bool = False
    language: str | None = None
    matrix: str | None = None
    telegram: str | None = None


# First and last names are all distinct so that a fuzzy fragment never hits two people.
_PEOPLE: list[_PersonSpec] = [
    _PersonSpec(
        "Anna Schmidt",
        "BB",
        Role.COORDINATION,
        is_admin=True,
        language="de",
        matrix="@anna.schmidt:musterstadt.de",
    ),
    _PersonSpec(
        "Jonas Weber",
        "BB",
        Role.COORDINATION,
        matrix="@jonas.weber:musterstadt.de",
        telegram="5012345601",
    ),
    _PersonSpec("Markus Becker", "JA", Role.DEPARTMENT, matrix="@markus.becker:musterstadt.de"),
    _PersonSpec("Julia Richter", "JA", Role.DEPARTMENT, telegram="5012345602"),
    _PersonSpec("Stefan Wagner", "SA", Role.DEPARTMENT),
    _PersonSpec("Katrin Schulz", "SA", Role.DEPARTMENT, telegram="5012345603"),
    _PersonSpec("Michael Fischer", "SP", Role.DEPARTMENT),
    _PersonSpec("Sabine Braun", "SP", Role.DEPARTMENT),
    _PersonSpec("Tobias Keller", "UA", Role.DEPARTMENT, matrix="@tobias.keller:musterstadt.de"),
    _PersonSpec("Nicole Franke", "UA", Role.DEPARTMENT),
    _PersonSpec("Andreas Wolf", "SOZ", Role.DEPARTMENT, telegram="5012345604"),
    _PersonSpec("Monika Schäfer", "SOZ", Role.DEPARTMENT),
    _PersonSpec("Lukas Krause", "KA", Role.DEPARTMENT),
    _PersonSpec("Daniel Lorenz", "WF", Role.DEPARTMENT),
    _PersonSpec("Birgit Koch", "GA", Role.DEPARTMENT),
    _PersonSpec("Claudia Berger", "GA", Role.READ),
    _PersonSpec(
        "Sarah Miller",
        "IB",
        Role.DEPARTMENT,
        language="en",
        matrix="@sarah.miller:musterstadt.de",
    ),
    _PersonSpec("Yusuf Demir", "IB", Role.DEPARTMENT),
    # Steuergruppe member from outside the administration (Staatliches Schulamt).
    _PersonSpec("Petra Vogel", None, Role.READ, telegram="5012345605"),
    # Büro des Bürgermeisters: reads everything, belongs to no department of the plan.
    _PersonSpec("Martin Kaiser", None, Role.READ),
]

FIELDS_OF_ACTION = ["Bildung", "Soziales", "Integration", "Wohnen", "Umwelt", "Arbeit", "Kultur"]
TRENDS = [
    "Demografischer Wandel",
    "Diversität",
    "Digitalisierung",
    "Demokratie",
    "Daseinsvorsorge",
    "Klimawandel",
]
_AREAS = [
    "Altstadt",
    "Nordstadt",
    "Südvorstadt",
    "Am Weinberg",
    "Hafenviertel",
    "Gartenstadt",
    "Bahnhofsviertel",
]


@dataclass(frozen=True)
class _GoalSpec:
    number: int  # Z-<number> on a fresh database, because goals are inserted in this order
    title: str
    parent: int | None
    field_of_action: str | None
    quality_target: str | None
    interval: str
    trends: tuple[str, ...]


_GOALS: list[_GoalSpec] = [
    # Leitziele (level 1)
    _GoalSpec(
        1,
        "Bildungsgerechtigkeit für alle Kinder und Jugendlichen",
        None,
        None,
        "Herkunft entscheidet in Musterstadt nicht über Bildungserfolg.",
        "jährlich",
        ("Demografischer Wandel", "Diversität"),
    ),
    _GoalSpec(
        2,
        "Lebenswerte und klimagerechte Stadtteile",
        None,
        None,
        "Alle Stadtteile bieten bezahlbares Wohnen, Grün und Schutz vor Hitze.",
        "jährlich",
        ("Klimawandel", "Daseinsvorsorge"),
    ),
    # Ziele (level 2)
    _GoalSpec(
        3, "Frühkindliche Bildung stärken", 1, "Bildung", None, "halbjährlich", ("Diversität",)
    ),
    _GoalSpec(
        4,
        "Übergang Schule–Beruf verbessern",
        1,
        "Arbeit",
        None,
        "halbjährlich",
        ("Demografischer Wandel",),
    ),
    _GoalSpec(
        5, "Integration durch Sprache", 1, "Integration", None, "halbjährlich", ("Diversität",)
    ),
    _GoalSpec(6, "Klimaanpassung im Quartier", 2, "Umwelt", None, "jährlich", ("Klimawandel",)),
    _GoalSpec(7, "Bezahlbarer Wohnraum", 2, "Wohnen", None, "jährlich", ("Daseinsvorsorge",)),
    # Teilziele (level 3)
    _GoalSpec(
        8,
        "Sprachstand bei Schuleintritt verbessern",
        3,
        "Bildung",
        "Bis 2028 haben mindestens 80 % der Kinder bei der Schuleingangsuntersuchung "
        "keinen Sprachförderbedarf.",
        "jährlich",
        ("Diversität", "Demografischer Wandel"),
    ),
    _GoalSpec(
        9,
        "Kita-Plätze bedarfsgerecht ausbauen",
        3,
        "Bildung",
        "Für jedes Kind ab einem Jahr steht ein Betreuungsplatz in höchstens 2 km "
        "Entfernung zur Verfügung.",
        "halbjährlich",
        ("Demografischer Wandel", "Daseinsvorsorge"),
    ),
    _GoalSpec(
        10,
        "Schulabschlüsse sichern",
        4,
        "Arbeit",
        "Der Anteil der Schulabgängerinnen und Schulabgänger ohne Abschluss sinkt bis 2028 "
        "auf unter 5 %.",
        "jährlich",
        ("Demografischer Wandel", "Diversität"),
    ),
    _GoalSpec(
        11,
        "Ausbildungsplätze regional besetzen",
        4,
        "Arbeit",
        "Weniger als 10 % der gemeldeten Ausbildungsstellen bleiben unbesetzt.",
        "halbjährlich",
        ("Demografischer Wandel", "Digitalisierung"),
    ),
    _GoalSpec(
        12,
        "Deutschkenntnisse zugewanderter Eltern fördern",
        5,
        "Integration",
        "Jährlich schließen mindestens 120 Eltern einen Deutschkurs auf Niveau B1 ab.",
        "quartalsweise",
        ("Diversität", "Demokratie"),
    ),
    _GoalSpec(
        13,
        "Teilhabe an Kultur und Vereinsleben stärken",
        5,
        "Kultur",
        "Jedes zweite Kind mit Zuwanderungsgeschichte nimmt an einem außerschulischen "
        "Kultur- oder Sportangebot teil.",
        "halbjährlich",
        ("Diversität", "Demokratie"),
    ),
    _GoalSpec(
        14,
        "Hitzeschutz in Kitas und Schulen",
        6,
        "Umwelt",
        "Bis 2028 haben alle Kitas und Grundschulen einen Hitzeaktionsplan und verschattete "
        "Außenflächen.",
        "halbjährlich",
        ("Klimawandel", "Daseinsvorsorge"),
    ),
    _GoalSpec(
        15,
        "Mehr Grün im Quartier",
        6,
        "Umwelt",
        "Der Anteil versiegelter Fläche in der Nordstadt sinkt bis 2030 um 5 Prozentpunkte.",
        "jährlich",
        ("Klimawandel",),
    ),
    _GoalSpec(
        16,
        "Sozialen Wohnungsbau ausweiten",
        7,
        "Wohnen",
        "Bis 2029 entstehen 400 mietpreisgebundene Wohnungen.",
        "jährlich",
        ("Demografischer Wandel", "Daseinsvorsorge"),
    ),
    _GoalSpec(
        17,
        "Wohnungslosigkeit vermeiden",
        7,
        "Soziales",
        "Drohende Wohnungsverluste werden in mindestens 75 % der Fälle abgewendet.",
        "quartalsweise",
        ("Daseinsvorsorge",),
    ),
]


@dataclass(frozen=True)
class _Report:
    days_ago: int
    status: MeasureStatus
    progress: int
    note: str | None = None
    by: str | None = None  # None: the measure's responsible person


@dataclass(frozen=True)
class _MeasureSpec:
    title: str
    goal: int
    lead: str
    participants: tuple[str, ...]
    responsible: str | None
    start: int  # days relative to today
    deadline: int | None  # days relative to today; None for a standing task (Daueraufgabe)
    status: MeasureStatus
    progress: int
    area: str | None
    interval: str
    created_ago: int
    reports: tuple[_Report, ...] = ()
    description: str | None = None


def _r(
    days_ago: int,
    status: MeasureStatus,
    progress: int,
    note: str | None = None,
    by: str | None = None,
) -> _Report:
    return _Report(days_ago, status, progress, note, by)


# M-<n> on a fresh database is the n-th entry. Categories relative to `today` (the tests
# check them): overdue and open M-3, M-6, M-11, M-21, M-30, M-34, M-43; due within 14 days
# M-1, M-13, M-24, M-28, M-42, M-48; stale M-12, M-22, M-33, M-37, M-43 and, never
# reported, M-8 and M-30. Every other open measure reported within 70 % of its interval.
# Positional fields in _MeasureSpec order: title, goal, lead, participants, responsible,
# start, deadline, status, progress, area, interval, created_ago, reports, description.
# The formatter would put every field on its own line and make the table unreadable.
# fmt: off
_MEASURES: list[_MeasureSpec] = [
    _MeasureSpec(  # M-1
        "Sprachförderung in Kitas der Nordstadt",
        8, "JA", ("GA", "IB"), "Markus Becker", -300, 9, L, 80, "Nordstadt", "quartalsweise", 320,
        (
            _r(280, L, 10, "Sprachfachkräfte in drei Kitas eingestellt"),
            _r(190, L, 40, "Fortbildung der Kita-Teams abgeschlossen"),
            _r(100, L, 65, "Zwischenauswertung: 140 Kinder erreicht"),
            _r(20, L, 80, "Abschlussdokumentation in Arbeit"),
        ),
        "Alltagsintegrierte Sprachförderung in den fünf Kitas der Nordstadt mit zusätzlichen "
        "Sprachfachkräften; das Gesundheitsamt liefert die Sprachstandsdaten, das "
        "Integrationsbüro übernimmt die Elternarbeit.",
    ),
    _MeasureSpec(  # M-2
        "Sprachförderung für Eltern (Rucksack-Programm)",
        8, "IB", ("JA",), "Sarah Miller", -200, 160, L, 45, "Nordstadt", "quartalsweise", 230,
        (
            _r(170, L, 15, "First two parent groups started (Kita Sonnenblume)"),
            _r(40, L, 45, "Third group started, 28 parents enrolled"),
        ),
        "Mehrsprachiges Elternbildungsprogramm: Elternbegleiterinnen stärken Eltern darin, "
        "die Sprachentwicklung ihrer Kinder im Alltag zu fördern.",
    ),
    _MeasureSpec(  # M-3
        "Sprachförderung im Ganztag",
        8, "SA", ("IB",), "Stefan Wagner", -250, -12, V, 55, "Südvorstadt", "quartalsweise", 270,
        (
            _r(220, L, 10, "Konzept mit den Horten abgestimmt"),
            _r(130, L, 35, "Angebot an zwei Grundschulen gestartet"),
            _r(45, V, 55, "Honorarkräfte fehlen an der Grundschule am Park"),
        ),
    ),
    _MeasureSpec(  # M-4
        "Alltagsintegrierte Sprachbildung: Fortbildung Kita-Fachkräfte",
        8, "JA", (), "Julia Richter", -150, 75, L, 50, None, "halbjährlich", 170,
        (
            _r(120, L, 20, "Erstes Modul mit 24 Fachkräften durchgeführt"),
            _r(30, L, 50, "Modul 2 abgeschlossen"),
        ),
    ),
    _MeasureSpec(  # M-5
        "Sprachstandserhebung vor der Einschulung ausweiten",
        8, "GA", ("JA", "SA"), "Birgit Koch", 20, 200, P, 0, "Südvorstadt", "halbjährlich", 18,
        description="Sprachstandserhebung für alle Vierjährigen statt nur bei Auffälligkeiten.",
    ),
    _MeasureSpec(  # M-6
        "Kita-Neubau Am Weinberg (120 Plätze)",
        9, "JA", ("SP",), "Julia Richter", -400, -40, G, 35, "Am Weinberg", "monatlich", 420,
        (
            _r(380, L, 5, "Planungsauftrag vergeben"),
            _r(250, L, 20, "Bauantrag eingereicht"),
            _r(90, V, 30, "Baugenehmigung verzögert sich (Artenschutzgutachten)"),
            _r(18, G, 35, "Rohbaufirma insolvent, Neuausschreibung nötig", "Markus Becker"),
        ),
        "Neubau einer Kita mit 120 Plätzen, davon 40 Krippenplätze, auf dem städtischen "
        "Grundstück Weinbergstraße.",
    ),
    _MeasureSpec(  # M-7
        "Kita-Bedarfsplanung fortschreiben",
        9, "JA", ("BB", "SP"), "Anna Schmidt", -120, 95, L, 40, None, "quartalsweise", 130,
        (
            _r(100, L, 15, "Geburtenprognose vom Statistikamt erhalten"),
            _r(35, L, 40, "Neubaugebiete mit der Stadtplanung abgeglichen"),
        ),
    ),
    _MeasureSpec(  # M-8: never reported since it was created long ago, hence stale
        "Kindertagespflege in der Gartenstadt ausbauen",
        9, "JA", (), None, -150, 120, P, 0, "Gartenstadt", "quartalsweise", 220,
    ),
    _MeasureSpec(  # M-9
        "Interimsstandort Kita Hafenviertel (Modulbau)",
        9, "JA", ("SP",), "Markus Becker", -330, -60, E, 100, "Hafenviertel", "quartalsweise",
        350,
        (
            _r(300, L, 20, "Module bestellt"),
            _r(180, L, 70, "Module aufgestellt, Außenanlagen in Arbeit"),
            _r(65, E, 100, "Betrieb aufgenommen, 45 Plätze belegt"),
        ),
    ),
    _MeasureSpec(  # M-10
        "Schulsozialarbeit an allen Grundschulen",
        10, "JA", ("SA",), "Julia Richter", -700, None, L, 70, None, "halbjährlich", 720,
        (
            _r(500, L, 40, "Stellen an sechs von neun Grundschulen besetzt"),
            _r(300, L, 60, "Achte Stelle besetzt"),
            _r(60, L, 70, "Jahresbericht Schulsozialarbeit vorgelegt"),
        ),
        "Daueraufgabe: Schulsozialarbeit an allen neun städtischen Grundschulen.",
    ),
    _MeasureSpec(  # M-11
        "Schulsozialarbeit an der Oberschule Nordstadt verstetigen",
        10, "JA", ("SA",), "Julia Richter", -200, -8, V, 60, "Nordstadt", "quartalsweise", 210,
        (
            _r(150, L, 30, "Förderantrag beim Land gestellt"),
            _r(50, V, 60, "Bewilligung steht aus, Überbrückung aus Haushaltsmitteln beantragt"),
        ),
    ),
    _MeasureSpec(  # M-12: "6 Wochen", last report 70 days ago, hence stale
        "Lernförderung für Jugendliche ohne Abschlussprognose",
        10, "SA", ("JA",), "Katrin Schulz", -180, 150, L, 30, "Bahnhofsviertel", "6 Wochen", 190,
        (
            _r(140, L, 15, "Lerngruppen an zwei Oberschulen gestartet"),
            _r(70, L, 30, "38 Schülerinnen und Schüler in der Förderung"),
        ),
    ),
    _MeasureSpec(  # M-13
        "Schulsozialarbeit: Begleitung bei Schulverweigerung",
        10, "JA", ("SA",), "Markus Becker", -100, 5, G, 25, "Südvorstadt", "monatlich", 110,
        (
            _r(80, L, 10, "Fallkonferenzen mit drei Schulen vereinbart"),
            _r(40, V, 20, "Fachkraft längerfristig erkrankt"),
            _r(10, G, 25, "Abschlussbericht bis zur Frist nicht machbar"),
        ),
    ),
    _MeasureSpec(  # M-14
        "Ferienschule Mathematik und Deutsch",
        10, "SA", (), "Katrin Schulz", -140, -90, E, 100, "Altstadt", "jährlich", 160,
        (
            _r(120, L, 50, "85 Kinder angemeldet"),
            _r(88, E, 100, "Ferienschule mit 78 Teilnehmenden durchgeführt"),
        ),
    ),
    _MeasureSpec(  # M-15
        "Berufsorientierung ab Klasse 7 (Praxislernen)",
        11, "SA", ("WF",), "Stefan Wagner", -300, 240, L, 55, "Gartenstadt", "halbjährlich", 310,
        (
            _r(250, L, 20, "Praxislerntage in den Stundenplänen verankert"),
            _r(100, L, 55, "Zwölf Betriebe als Praxislernorte gewonnen"),
        ),
    ),
    _MeasureSpec(  # M-16
        "Ausbildungsmesse Musterstadt",
        11, "WF", ("JA", "SA"), "Daniel Lorenz", 30, 150, P, 0, "Altstadt", "quartalsweise", 12,
        description="Messe mit regionalen Betrieben in der Stadthalle, gemeinsam mit den "
        "Oberschulen und der Jugendberufsagentur.",
    ),
    _MeasureSpec(  # M-17
        "Begleitung von Jugendlichen beim Übergang in Ausbildung",
        11, "JA", ("SOZ", "WF"), "Markus Becker", -260, 60, V, 40, "Hafenviertel",
        "quartalsweise", 270,
        (
            _r(200, L, 20, "Jugendberufsagentur: gemeinsame Beratungszeiten eingerichtet"),
            _r(30, V, 40, "Datenaustausch mit dem Jobcenter noch nicht geregelt"),
        ),
    ),
    _MeasureSpec(  # M-18
        "Azubi-Wohnen im Hafenviertel prüfen",
        11, "WF", ("SP",), "Daniel Lorenz", -300, -30, A, 30, "Hafenviertel", "halbjährlich", 320,
        (
            _r(200, L, 30, "Machbarkeitsstudie beauftragt"),
            _r(110, A, 30, "Grundstück anderweitig vergeben, Prüfung eingestellt", "Jonas Weber"),
        ),
    ),
    _MeasureSpec(  # M-19
        "Digitale Lehrstellenbörse für Betriebe",
        11, "WF", (), "Daniel Lorenz", -360, -150, E, 100, None, "quartalsweise", 380,
        (
            _r(300, L, 40, "Anbieter beauftragt"),
            _r(160, E, 100, "Börse online, 64 Betriebe registriert"),
        ),
    ),
    _MeasureSpec(  # M-20
        "Sprachcafé im Quartierszentrum Nordstadt",
        12, "IB", ("KA",), "Yusuf Demir", -240, 100, L, 60, "Nordstadt", "monatlich", 250,
        (
            _r(200, L, 20, "Wöchentliches Sprachcafé gestartet"),
            _r(120, L, 40, "Ehrenamtliche Sprachtandems vermittelt"),
            _r(12, L, 60, "Zweiter Termin pro Woche eingeführt"),
        ),
    ),
    _MeasureSpec(  # M-21
        "Elternkurse Deutsch mit Kinderbetreuung",
        12, "IB", ("JA",), "Sarah Miller", -210, -3, G, 50, "Südvorstadt", "monatlich", 220,
        (
            _r(180, L, 20, "Course provider selected (VHS)"),
            _r(100, L, 40, "First course running with 14 parents"),
            _r(15, G, 50, "Childcare staff left, second course on hold"),
        ),
    ),
    _MeasureSpec(  # M-22: monthly, last report 52 days ago, hence stale
        "Sprach- und Kulturmittler-Pool aufbauen",
        12, "IB", ("GA", "SOZ"), "Yusuf Demir", -200, 80, V, 35, "Hafenviertel", "monatlich", 210,
        (
            _r(150, L, 20, "Zwölf Interessierte für die Schulung gemeldet"),
            _r(52, V, 35, "Honorarrichtlinie noch nicht beschlossen"),
        ),
    ),
    _MeasureSpec(  # M-23
        "Begleitung neu zugewanderter Familien (Lotsenprogramm)",
        12, "IB", ("SOZ",), "Sarah Miller", -160, 200, L, 35, "Hafenviertel", "quartalsweise",
        170,
        (
            _r(130, L, 15, "12 volunteer guides trained"),
            _r(25, L, 35, "31 families accompanied so far"),
        ),
    ),
    _MeasureSpec(  # M-24
        "Kulturpass für Kinder aus Familien mit geringem Einkommen",
        13, "KA", ("SOZ",), "Lukas Krause", -180, 13, L, 85, "Altstadt", "quartalsweise", 190,
        (
            _r(150, L, 30, "Partnereinrichtungen gewonnen"),
            _r(60, L, 70, "Antragsverfahren mit dem Sozialamt abgestimmt"),
            _r(14, L, 85, "Antragsformular vereinfacht, 410 Pässe ausgegeben"),
        ),
    ),
    _MeasureSpec(  # M-25
        "Interkulturelles Stadtteilfest Südvorstadt",
        13, "KA", ("IB",), "Lukas Krause", -200, -100, E, 100, "Südvorstadt", "monatlich", 210,
        (
            _r(150, L, 50, "Programm steht, 22 Vereine beteiligt"),
            _r(99, E, 100, "Fest mit rund 3.000 Besucherinnen und Besuchern"),
        ),
    ),
    _MeasureSpec(  # M-26
        "Vereinslotsen für Neuzugewanderte",
        13, "IB", ("KA",), None, 14, 180, P, 0, "Südvorstadt", "halbjährlich", 20,
    ),
    _MeasureSpec(  # M-27
        "Musikschule im Quartier: Kooperation mit Grundschulen",
        13, "KA", ("SA",), "Lukas Krause", -90, 270, L, 20, "Gartenstadt", "halbjährlich", 100,
        (_r(40, L, 20, "Kooperationsvertrag mit zwei Grundschulen unterzeichnet"),),
    ),
    _MeasureSpec(  # M-28
        "Hitzeaktionsplan für Kitas und Grundschulen",
        14, "UA", ("GA", "JA", "SA"), "Tobias Keller", -220, 6, V, 70, None, "monatlich", 230,
        (
            _r(190, L, 20, "Musterplan mit dem Gesundheitsamt erarbeitet"),
            _r(100, L, 50, "Pläne für 14 Einrichtungen fertig"),
            _r(20, V, 70, "Abstimmung mit den freien Kita-Trägern dauert länger"),
        ),
        "Jede Kita und Grundschule erhält einen Hitzeaktionsplan mit Maßnahmen für "
        "Hitzewarnungen (Trinken, Verschattung, Tagesablauf).",
    ),
    _MeasureSpec(  # M-29
        "Verschattung Schulhof Grundschule Altstadt",
        14, "SA", ("UA",), "Katrin Schulz", -120, 60, L, 45, "Altstadt", "6 Wochen", 130,
        (
            _r(90, L, 15, "Sonnensegel bestellt"),
            _r(28, L, 45, "Fundamente gesetzt"),
        ),
    ),
    _MeasureSpec(  # M-30: overdue and never reported
        "Trinkwasserbrunnen an Schulen und Spielplätzen",
        14, "UA", ("SA",), "Nicole Franke", -60, -21, P, 0, "Gartenstadt", "monatlich", 90,
    ),
    _MeasureSpec(  # M-31
        "Hitzeschutz-Schulung für Kita-Personal",
        14, "GA", ("JA",), "Birgit Koch", -150, -70, E, 100, None, "quartalsweise", 160,
        (
            _r(110, L, 50, "Erste Schulung mit 40 Teilnehmenden"),
            _r(72, E, 100, "Alle Kita-Leitungen geschult"),
        ),
    ),
    _MeasureSpec(  # M-32
        "Entsiegelung Schulhof Oberschule Nordstadt",
        15, "UA", ("SA",), "Nicole Franke", -150, 45, G, 15, "Nordstadt", "quartalsweise", 160,
        (
            _r(110, L, 10, "Planung beauftragt"),
            _r(21, G, 15, "Fördermittelbescheid fehlt, Ausschreibung gestoppt"),
        ),
    ),
    _MeasureSpec(  # M-33: monthly, last report 62 days ago, hence stale
        "Quartierspark Hafenviertel",
        15, "SP", ("UA",), "Sabine Braun", -365, 300, L, 30, "Hafenviertel", "monatlich", 380,
        (
            _r(300, L, 10, "Bürgerbeteiligung durchgeführt"),
            _r(160, L, 25, "Entwurfsplanung vom Ausschuss beschlossen"),
            _r(62, L, 30, "Vergabe Landschaftsbau vorbereitet"),
        ),
        "Neuer Quartierspark auf der ehemaligen Hafenbrache mit Spielplatz, "
        "Regenwasserversickerung und Schattenbäumen.",
    ),
    _MeasureSpec(  # M-34: in progress, but past its deadline
        "Straßenbäume Südvorstadt (200 Neupflanzungen)",
        15, "UA", (), "Tobias Keller", -300, -5, L, 85, "Südvorstadt", "quartalsweise", 310,
        (
            _r(200, L, 30, "Erste 60 Bäume gepflanzt"),
            _r(60, L, 85, "170 Bäume gepflanzt, der Rest folgt mit der nächsten Pflanzung"),
        ),
    ),
    _MeasureSpec(  # M-35
        "Förderprogramm Fassadenbegrünung",
        15, "UA", ("WF",), "Nicole Franke", -250, 100, A, 10, "Altstadt", "halbjährlich", 260,
        (
            _r(200, L, 10, "Richtlinienentwurf erstellt"),
            _r(130, A, 10, "Haushaltssperre: Programm gestrichen", "Jonas Weber"),
        ),
    ),
    _MeasureSpec(  # M-36
        "Klimaanpassungskonzept Quartier Gartenstadt",
        15, "UA", ("SP",), None, 45, 365, P, 0, "Gartenstadt", "halbjährlich", 8,
    ),
    _MeasureSpec(  # M-37: quarterly, last report 150 days ago, hence stale
        "Bebauungsplan Am Weinberg (Sozialwohnungen)",
        16, "SP", ("SOZ",), "Sabine Braun", -500, 120, V, 40, "Am Weinberg", "quartalsweise",
        520,
        (
            _r(420, L, 10, "Aufstellungsbeschluss gefasst"),
            _r(260, L, 30, "Frühzeitige Beteiligung abgeschlossen"),
            _r(150, V, 40, "Lärmgutachten muss nachgebessert werden"),
        ),
        "Bebauungsplan für rund 180 Wohnungen, davon mindestens 30 % mietpreisgebunden.",
    ),
    _MeasureSpec(  # M-38
        "Konzeptvergabe städtischer Grundstücke",
        16, "SP", ("WF",), "Michael Fischer", -200, 150, L, 50, "Am Weinberg", "quartalsweise",
        210,
        (
            _r(150, L, 20, "Grundstücksliste abgestimmt"),
            _r(45, L, 50, "Vergabekriterien vom Stadtrat beschlossen"),
        ),
    ),
    _MeasureSpec(  # M-39 (on the level-2 goal Z-7)
        "Quartiersmanagement Nordstadt",
        7, "SP", ("IB", "SOZ"), "Michael Fischer", -600, None, L, 60, "Nordstadt",
        "halbjährlich", 620,
        (
            _r(400, L, 30, "Träger für das Quartiersmanagement ausgewählt"),
            _r(200, L, 50, "Quartiersrat gegründet"),
            _r(45, L, 60, "Stadtteilbüro in der Lindenstraße eröffnet"),
        ),
    ),
    _MeasureSpec(  # M-40
        "Wohnraumbedarfsanalyse",
        16, "SP", ("SOZ",), "Michael Fischer", -400, -180, E, 100, None, "quartalsweise", 410,
        (
            _r(300, L, 50, "Haushaltsbefragung ausgewertet"),
            _r(185, E, 100, "Analyse dem Stadtrat vorgelegt"),
        ),
    ),
    _MeasureSpec(  # M-41
        "Fachstelle Wohnungssicherung einrichten",
        17, "SOZ", ("JA",), "Andreas Wolf", -150, 90, L, 65, "Altstadt", "quartalsweise", 160,
        (
            _r(120, L, 25, "Stellen ausgeschrieben"),
            _r(30, L, 65, "Zwei Stellen besetzt, Räume bezogen"),
        ),
    ),
    _MeasureSpec(  # M-42
        "Präventionsberatung bei Mietschulden",
        17, "SOZ", (), "Monika Schäfer", -130, 3, G, 40, "Altstadt", "monatlich", 140,
        (
            _r(100, L, 20, "Beratungskonzept steht"),
            _r(50, L, 35, "Erste Sprechstunden im Bürgerbüro"),
            _r(9, G, 40, "Vereinbarung mit den Wohnungsunternehmen noch nicht unterschrieben"),
        ),
    ),
    _MeasureSpec(  # M-43: overdue and stale (monthly, last report 95 days ago)
        "Notunterkunft Altstadt sanieren",
        17, "SOZ", ("SP",), "Andreas Wolf", -300, -75, V, 50, "Altstadt", "monatlich", 310,
        (
            _r(250, L, 15, "Bestandsaufnahme abgeschlossen"),
            _r(170, L, 40, "Sanitärbereich erneuert"),
            _r(95, V, 50, "Brandschutzauflagen erfordern eine Umplanung"),
        ),
    ),
    _MeasureSpec(  # M-44
        "Housing First Modellprojekt",
        17, "SOZ", (), "Monika Schäfer", -220, 140, A, 5, "Bahnhofsviertel", "halbjährlich", 230,
        (
            _r(180, L, 5, "Gespräche mit möglichen Trägern geführt"),
            _r(75, A, 5, "Landesförderung abgelehnt, Projekt eingestellt", "Anna Schmidt"),
        ),
    ),
    _MeasureSpec(  # M-45 (on the level-2 goal Z-3)
        "Netzwerk Frühe Hilfen: Begleitung junger Familien",
        3, "GA", ("JA",), "Birgit Koch", -400, None, L, 50, None, "halbjährlich", 410,
        (
            _r(300, L, 30, "Netzwerkkoordination besetzt"),
            _r(90, L, 50, "Willkommensbesuche für Neugeborene in allen Stadtteilen"),
        ),
    ),
    _MeasureSpec(  # M-46 (on the level-2 goal Z-4)
        "Kooperationsvereinbarung Schule–Wirtschaft",
        4, "WF", ("SA",), "Daniel Lorenz", 10, 120, P, 0, None, "quartalsweise", 15,
    ),
    _MeasureSpec(  # M-47 (on the level-2 goal Z-5)
        "Integrationskonzept fortschreiben",
        5, "IB", ("BB", "SOZ"), "Anna Schmidt", -240, 50, V, 45, None, "quartalsweise", 250,
        (
            _r(190, L, 20, "Auftaktworkshop mit Migrantenorganisationen"),
            _r(40, V, 45, "Beteiligung verlängert: Rückmeldungen aus drei Stadtteilen fehlen"),
        ),
    ),
    _MeasureSpec(  # M-48 (on the level-2 goal Z-3)
        "Kita-Datenbericht für die Steuergruppe",
        3, "BB", ("JA",), "Jonas Weber", -60, 1, L, 90, None, "monatlich", 70,
        (
            _r(40, L, 40, "Daten der Kita-Statistik aufbereitet"),
            _r(5, L, 90, "Entwurf an das Jugendamt zur Abstimmung"),
        ),
    ),
    _MeasureSpec(  # M-49 (on the level-2 goal Z-6)
        "Hitzewarnsystem für soziale Einrichtungen",
        6, "GA", ("SOZ", "UA"), "Birgit Koch", -100, 25, G, 20, None, "monatlich", 110,
        (
            _r(70, L, 10, "Verteiler der Einrichtungen erstellt"),
            _r(16, G, 20, "Schnittstelle zum DWD: Vertrag mit dem Dienstleister offen"),
        ),
    ),
    _MeasureSpec(  # M-50 (on the level-2 goal Z-7), nobody responsible yet
        "Mietspiegel erstellen",
        7, "SOZ", ("SP",), None, -90, 200, L, 25, None, "halbjährlich", 100,
        (_r(30, L, 25, "Erhebung durch das Institut gestartet", "Andreas Wolf"),),
    ),
]
# fmt: on


@dataclass(frozen=True)
class _IndicatorSpec:
    goal: int
    name: str
    unit: str
    direction: Direction
    baseline: float
    target: float
    target_years_ahead: int
    values: tuple[float, ...]
    cadence: str  # "annual:<month>-<day>" or "quarterly"
    source: str  # "{year}" is filled with the year of the measurement
    department: str  # who delivers the values (and is reminded when one is missing)


_INDICATORS: list[_IndicatorSpec] = [
    _IndicatorSpec(  # off target
        8,
        "Kinder mit Sprachförderbedarf bei der Schuleingangsuntersuchung",
        "%",
        Direction.LOWER_IS_BETTER,
        31.0,
        20.0,
        3,
        (31.0, 29.4, 30.2, 27.8),
        "annual:9-30",
        "Schuleingangsuntersuchung {year}",
        "GA",
    ),
    _IndicatorSpec(  # on target
        9,
        "Betreuungsquote unter Dreijährige",
        "%",
        Direction.HIGHER_IS_BETTER,
        52.0,
        60.0,
        2,
        (52.0, 55.5, 58.1, 61.3),
        "annual:3-1",
        "Kita-Statistik {year}",
        "JA",
    ),
    _IndicatorSpec(  # off target
        10,
        "Schulabgänger ohne Abschluss",
        "%",
        Direction.LOWER_IS_BETTER,
        8.9,
        5.0,
        3,
        (8.9, 8.1, 7.6, 7.9),
        "annual:7-31",
        "Schulstatistik Land Brandenburg {year}",
        "SA",
    ),
    _IndicatorSpec(  # on target
        11,
        "Unbesetzte Ausbildungsstellen",
        "%",
        Direction.LOWER_IS_BETTER,
        18.0,
        10.0,
        2,
        (18.0, 14.2, 11.5, 9.4),
        "annual:9-30",
        "Agentur für Arbeit, Ausbildungsmarktbilanz {year}",
        "WF",
    ),
    _IndicatorSpec(  # off target
        12,
        "Eltern mit abgeschlossenem Deutschkurs (B1)",
        "Personen",
        Direction.HIGHER_IS_BETTER,
        64.0,
        120.0,
        1,
        (64.0, 81.0, 97.0, 103.0, 110.0),
        "quarterly",
        "VHS-Kursstatistik",
        "IB",
    ),
    _IndicatorSpec(  # off target
        14,
        "Kitas und Grundschulen mit Hitzeaktionsplan",
        "Einrichtungen",
        Direction.HIGHER_IS_BETTER,
        3.0,
        24.0,
        2,
        (3.0, 8.0, 14.0, 19.0),
        "quarterly",
        "Umweltamt, Erhebung",
        "UA",
    ),
    _IndicatorSpec(  # off target
        15,
        "Versiegelte Fläche in der Nordstadt",
        "%",
        Direction.LOWER_IS_BETTER,
        58.0,
        53.0,
        4,
        (58.0, 57.4, 56.9),
        "annual:12-31",
        "Luftbildauswertung {year}",
        "SP",
    ),
    _IndicatorSpec(  # on target
        17,
        "Abgewendete Wohnungsverluste",
        "%",
        Direction.HIGHER_IS_BETTER,
        61.0,
        75.0,
        1,
        (61.0, 70.0, 78.0, 76.0),
        "quarterly",
        "Sozialamt, Fallstatistik",
        "SOZ",
    ),
]


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Musterstadt as an aware UTC datetime, as the models require."""
    return datetime.combine(day, time(hour, minute), tzinfo=_TZ).astimezone(UTC)


def _annual_dates(today: date, month: int, day: int, count: int) -> list[date]:
    """The last `count` occurrences of a yearly reporting day before `today`, oldest first."""
    year = today.year if date(today.year, month, day) < today else today.year - 1
    return [date(year - offset, month, day) for offset in range(count - 1, -1, -1)]


def _quarter_ends(today: date, count: int) -> list[date]:
    """The last `count` quarter ends before `today`, oldest first."""
    ends: list[date] = []
    year, quarter = today.year, (today.month - 1) // 3  # the quarter before today's
    while len(ends) < count:
        if quarter == 0:
            year, quarter = year - 1, 4
        month = quarter * 3
        next_first = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        ends.append(next_first - timedelta(days=1))
        quarter -= 1
    return ends[::-1]


def ensure_demo(session: Session, today: date) -> bool:
    """Create the example municipality unless it exists (returns True if created).

    Does not commit; caller commits.
    """
    if session.scalar(select(Department).where(Department.key == "BB")) is not None:
        return False
    departments = _add_departments(session)
    people = _add_people(session, departments, today)
    fields = _catalog(session, FieldOfAction, FIELDS_OF_ACTION)
    trends = _catalog(session, Trend, TRENDS)
    areas = {name: PlanningArea(name=name) for name in _AREAS}
    session.add_all(areas.values())
    session.flush()
    goals = _add_goals(session, fields, trends, today)
    measures = _add_measures(session, departments, people, goals, areas, today)
    _add_indicators(session, departments, goals, today)
    _add_goal_evaluations(session, goals, people["Anna Schmidt"], today)
    _add_rooms_and_meetings(session, departments, goals, measures, today)
    session.flush()
    return True


def _catalog(session: Session, model: type[_Entry], names: list[str]) -> dict[str, _Entry]:
    """The catalog entries migration 0003 put into every database; created only if missing."""
    existing = {normalize(e.name): e for e in session.scalars(select(model))}
    entries: dict[str, _Entry] = {}
    for name in names:
        entry = existing.get(normalize(name))
        if entry is None:
            entry = model(name=name)
            session.add(entry)
        entries[name] = entry
    return entries


def _add_departments(session: Session) -> dict[str, Department]:
    departments: dict[str, Department] = {}
    for key, name, aliases in _DEPARTMENTS:
        department = Department(key=key, name=name)
        department.aliases = [DepartmentAlias(alias=alias) for alias in aliases]
        session.add(department)
        departments[key] = department
    session.flush()
    return departments


def _add_people(
    session: Session, departments: dict[str, Department], today: date
) -> dict[str, Person]:
    people: dict[str, Person] = {}
    for spec in _PEOPLE:
        person = Person(
            name=spec.name,
            department=departments[spec.department] if spec.department else None,
            role=spec.role,
            is_admin=spec.is_admin,
            language=spec.language,
        )
        # The console user id is the display name, so the console can act as anyone by name.
        person.identities = [ChatIdentity(platform="console", user_id=spec.name)]
        if spec.matrix:
            person.identities.append(ChatIdentity(platform="matrix", user_id=spec.matrix))
        if spec.telegram:
            person.identities.append(ChatIdentity(platform="telegram", user_id=spec.telegram))
        session.add(person)
        people[spec.name] = person
        # Flushing one by one keeps person ids in list order despite the deputy self-reference.
        session.flush()
    people["Anna Schmidt"].deputy = people["Jonas Weber"]
    # One absent person: reminders for Julia Richter go to her deputy Markus Becker.
    people["Julia Richter"].deputy = people["Markus Becker"]
    people["Julia Richter"].absent_until = today + timedelta(days=10)
    session.flush()
    return people


def _add_goals(
    session: Session,
    fields: dict[str, FieldOfAction],
    trends: dict[str, Trend],
    today: date,
) -> dict[int, Goal]:
    goals: dict[int, Goal] = {}
    created = _local(today - timedelta(days=400), 9)
    for spec in _GOALS:
        goal = Goal(
            title=spec.title,
            parent=goals[spec.parent] if spec.parent else None,
            field_of_action=fields[spec.field_of_action] if spec.field_of_action else None,
            quality_target=spec.quality_target,
            evaluation_interval=spec.interval,
            created_at=created,
            trends=[trends[name] for name in spec.trends],
        )
        session.add(goal)
        goals[spec.number] = goal
        # Self-referential rows are sorted by dependency; one flush each keeps Z-<n> stable.
        session.flush()
    return goals


def _add_measures(
    session: Session,
    departments: dict[str, Department],
    people: dict[str, Person],
    goals: dict[int, Goal],
    areas: dict[str, PlanningArea],
    today: date,
) -> list[Measure]:
    def day(offset: int) -> date:
        return today + timedelta(days=offset)

    measures: list[Measure] = []
    for index, spec in enumerate(_MEASURES, start=1):
        measure = Measure(
            title=spec.title,
            description=spec.description,
            goal=goals[spec.goal],
            lead_department=departments[spec.lead],
            participants=[departments[key] for key in spec.participants],
            responsible=people[spec.responsible] if spec.responsible else None,
            start=day(spec.start),
            deadline=day(spec.deadline) if spec.deadline is not None else None,
            status=spec.status,
            progress=spec.progress,
            planning_area=areas[spec.area] if spec.area else None,
            evaluation_interval=spec.interval,
            last_report_at=None,
            created_at=_local(day(-spec.created_ago), 8, 30),
            version=1,
        )
        session.add(measure)
        # One flush each keeps M-<n> = the n-th entry of _MEASURES on a fresh database, and
        # gives the id that the reports (which have no relationship to Measure) need.
        session.flush()
        measures.append(measure)
        old_status, old_progress = MeasureStatus.PLANNED, 0
        for number, report in enumerate(spec.reports):
            # Varied but fixed times of day, so that reports read like real ones.
            at = _local(day(-report.days_ago), 9 + (index + number) % 7, (index * 7) % 60)
            reporter = report.by or spec.responsible
            session.add(
                StatusReport(
                    measure_id=measure.id,
                    person=people[reporter] if reporter else None,
                    at=at,
                    old_status=old_status.value,
                    new_status=report.status.value,
                    old_progress=old_progress,
                    new_progress=report.progress,
                    note=report.note,
                    origin_platform="console",
                )
            )
            old_status, old_progress = report.status, report.progress
            measure.last_report_at = at
        if spec.reports and (old_status, old_progress) != (spec.status, spec.progress):
            raise AssertionError(f"demo measure {spec.title!r}: history does not end in its state")
        # Set here as storage.events would: the demo must not depend on that hook being
        # installed, or "stale" queries on this column would miss the demo's stale measures.
        since = measure.last_report_at or measure.created_at
        measure.evaluation_due_on = add_interval(since.astimezone(_TZ).date(), spec.interval)
    session.flush()
    return measures


def _add_indicators(
    session: Session, departments: dict[str, Department], goals: dict[int, Goal], today: date
) -> None:
    for spec in _INDICATORS:
        count = len(spec.values)
        if spec.cadence == "quarterly":
            dates = _quarter_ends(today, count)
        else:
            month, month_day = (
                int(part) for part in spec.cadence.removeprefix("annual:").split("-")
            )
            dates = _annual_dates(today, month, month_day, count)
        indicator = Indicator(
            goal=goals[spec.goal],
            name=spec.name,
            unit=spec.unit,
            direction=spec.direction,
            baseline=spec.baseline,
            # The baseline is the first measurement: the target path starts there.
            baseline_date=dates[0],
            target_value=spec.target,
            target_date=date(today.year + spec.target_years_ahead, 12, 31),
            update_interval="quartalsweise" if spec.cadence == "quarterly" else "jährlich",
            department=departments[spec.department],
            created_at=_local(dates[0], 9),
        )
        indicator.values = [
            IndicatorValue(
                measured_on=measured_on,
                value=value,
                source=spec.source.format(year=measured_on.year),
            )
            for measured_on, value in zip(dates, spec.values, strict=True)
        ]
        session.add(indicator)
        session.flush()


# Goal evaluations (Zielbewertungen): goal number, days ago, verdict, note. Most were taken at
# the education steering group's meeting six weeks ago (S-1); Z-4 was never evaluated and
# Z-12's quarterly evaluation is overdue, so the next agenda has both kinds to correct.
_EVALUATIONS: list[tuple[int, int, Verdict, str]] = [
    (1, 300, Verdict.MET, "Leitziel bestätigt; Stand der Teilziele siehe dort."),
    (2, 300, Verdict.MET, "Leitziel bestätigt; Stand der Teilziele siehe dort."),
    (3, 42, Verdict.MET, "Frühe Hilfen und Sprachförderung in Kitas laufen wie geplant."),
    (5, 90, Verdict.MET, "Sprachmittlerpool steht, Nachfrage gedeckt."),
    (6, 200, Verdict.MET, "Hitzeaktionsplan beschlossen, Umsetzung läuft."),
    (7, 200, Verdict.MET, "Mietspiegel und Wohnraumkonzept auf dem Weg."),
    (8, 42, Verdict.PARTLY, "Sprachförderbedarf sinkt, aber langsamer als der Zielpfad (K-1)."),
    (9, 42, Verdict.PARTLY, "Betreuungsquote erreicht, Kita-Neubau Am Weinberg verzögert."),
    (10, 42, Verdict.NOT_MET, "Anteil ohne Abschluss 2026 wieder gestiegen (K-3)."),
    (11, 42, Verdict.MET, "Unbesetzte Ausbildungsstellen unter dem Zielwert (K-4)."),
    (12, 100, Verdict.NOT_MET, "Kursplätze reichen nicht; Warteliste bei der VHS."),
    (13, 90, Verdict.MET, "Kulturpass wird angenommen."),
    (14, 150, Verdict.MET, "Hitzeaktionspläne in 19 von 24 Einrichtungen."),
    (15, 200, Verdict.MET, "Entsiegelung Schulhof Nord abgeschlossen."),
    (16, 200, Verdict.MET, "Belegungsbindungen verlängert."),
    (17, 60, Verdict.MET, "Präventionsstelle wirkt: Wohnungsverluste abgewendet (K-8)."),
]


def _add_goal_evaluations(
    session: Session, goals: dict[int, Goal], coordinator: Person, today: date
) -> None:
    session.add_all(
        GoalEvaluation(
            goal=goals[number],
            verdict=verdict,
            note=note,
            person=coordinator,
            at=_local(today - timedelta(days=days_ago), 11),
        )
        for number, days_ago, verdict, note in _EVALUATIONS
    )
    session.flush()


def _add_rooms_and_meetings(
    session: Session,
    departments: dict[str, Department],
    goals: dict[int, Goal],
    measures: list[Measure],
    today: date,
) -> None:
    coordination = RoomLink(platform="console", room_id="koordination", is_coordination=True)
    session.add(coordination)
    rooms: dict[str, RoomLink] = {}
    for room_id, key in [
        ("jugendamt", "JA"),
        ("schulamt", "SA"),
        ("stadtplanung", "SP"),
        ("umweltamt", "UA"),
        ("integration", "IB"),
    ]:
        rooms[key] = RoomLink(platform="console", room_id=room_id, department=departments[key])
        session.add(rooms[key])
    session.flush()

    def at(offset: int, hour: int) -> datetime:
        return _local(today + timedelta(days=offset), hour)

    education = [departments[key] for key in ("BB", "GA", "IB", "JA", "SA")]
    past = Meeting(
        title="Steuergruppe Bildung: Halbjahresbilanz",
        starts_at=at(-42, 10),
        body="Steuergruppe Bildung",
        room=coordination,
        departments=list(education),
    )
    session.add(past)
    session.flush()
    hafen, weinberg, ganztag = measures[9 - 1], measures[6 - 1], measures[3 - 1]
    session.add_all(
        [
            Decision(
                meeting=past,
                text="Der Interimsstandort Kita Hafenviertel ist in Betrieb; die Maßnahme "
                "wird abgeschlossen.",
                resulting_changes=f"{hafen.ref} als erledigt bestätigt.",
                follow_up=FollowUp.DONE,
                created_at=at(-42, 12),
                measures=[hafen],
                goals=[goals[9]],
            ),
            Decision(
                meeting=past,
                text="Das Jugendamt legt für den Kita-Neubau Am Weinberg bis zur nächsten "
                "Sitzung einen Ausweichplan vor.",
                follow_up=FollowUp.OPEN,
                created_at=at(-42, 12),
                measures=[weinberg],
                goals=[goals[9]],
            ),
            Decision(
                meeting=past,
                text="Die Sprachförderung im Ganztag wird auf alle Grundschulen der "
                "Südvorstadt ausgeweitet; das Schulamt prüft die Finanzierung.",
                follow_up=FollowUp.OPEN,
                created_at=at(-42, 12),
                measures=[ganztag],
                goals=[goals[8]],
            ),
        ]
    )
    # Separate flushes keep S-1, S-2, S-3 in chronological order.
    session.add(
        Meeting(
            title="Steuergruppe Bildung: Kita-Ausbau und Sprachförderung",
            starts_at=at(12, 10),
            body="Steuergruppe Bildung",
            room=coordination,
            departments=list(education),
        )
    )
    session.flush()
    session.add(
        Meeting(
            title="Lenkungskreis Quartiersentwicklung",
            starts_at=at(26, 14),
            body="Lenkungskreis Quartiersentwicklung",
            room=rooms["SP"],
            departments=[departments[key] for key in ("SOZ", "SP", "UA", "WF")],
        )
    )
