"""Dialogue tests for the admin commands: ressort neu, ressort verknüpfen, ressort,
raum koordination, person neu — and that nobody else may use them."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Chat
from sqlalchemy import select
from test_dialogue_read import OVERVIEW_JA, in_order, world

from bot.bootstrap import App
from storage.models import AuditEntry, Department, Person, Role, RoomLink

RESSORT_NEU_USAGE = [
    'Aufruf: ressort neu <kürzel> "<name>" [alias:…]',
    'Beispiel: ressort neu JA "Jugendamt" alias:"Amt 51,Jugend"',
]
PERSON_NEU_USAGE = [
    'Aufruf: person neu "<name>" ressort: rolle: <chat-id>',
    'Beispiel: person neu "Max Müller" ressort:JA rolle:ressort matrix:@max:musterstadt.de',
]


def audits(app: App, entity_kind: str) -> list[AuditEntry]:
    with app.uows() as uow:
        rows = list(
            uow.session.execute(
                select(AuditEntry)
                .where(AuditEntry.entity_kind == entity_kind)
                .order_by(AuditEntry.id)
            ).scalars()
        )
        uow.session.expunge_all()
        return rows


def coordination_rooms(app: App) -> list[str]:
    with app.uows() as uow:
        return list(
            uow.session.execute(
                select(RoomLink.room_id).where(RoomLink.is_coordination.is_(True))
            ).scalars()
        )


def origin(entry: AuditEntry) -> tuple[Any, ...]:
    return (entry.actor, entry.origin_platform, entry.origin_room, entry.origin_message_id)


# -- ressort neu ------------------------------------------------------------------------------


def test_ressort_neu_creates_a_department_found_by_key_name_and_alias(anna: Chat) -> None:
    app = anna.app
    assert anna.say('ressort neu KITA "Kita-Eigenbetrieb" alias:"Eigenbetrieb Kita,Kitas"') == (
        "\n".join(
            [
                "Ressort angelegt",
                "Kita-Eigenbetrieb (KITA)",
                "Aliase: Eigenbetrieb Kita, Kitas",
                "Raum verknüpfen: im Raum des Ressorts „ressort verknüpfen KITA“",
            ]
        )
    )
    with app.uows() as uow:
        department = uow.session.execute(
            select(Department).where(Department.key == "KITA")
        ).scalar_one()
        department_id = department.id
        assert department.name == "Kita-Eigenbetrieb"
        assert sorted(a.alias for a in department.aliases) == ["Eigenbetrieb Kita", "Kitas"]
    empty = "\n".join(
        [
            "📊 Kita-Eigenbetrieb (KITA) — 0 Maßnahmen, 0 federführend",
            "⚪ 0 geplant · 🟢 0 laufend · 🟡 0 verzögert · 🔴 0 gefährdet · ✅ 0 erledigt · "
            "⚫ 0 abgebrochen",
            "",
            "🔴 Überfällig: 0",
            "⏰ Fällig in 14 Tagen: 0",
            "💤 Ohne aktuellen Bericht: 0",
        ]
    )
    for reference in ("KITA", "Kita-Eigenbetrieb", "Kitas", "Eigenbetrieb Kita"):
        assert anna.say(f"status {reference}") == empty, reference
    # A new measure can be given to the new department right away.
    assert anna.say('neu "Sprachkita" ressort:Kitas').splitlines()[1] == (
        "⚪ M-51 Sprachkita — KITA, 0 %, ohne Frist"
    )
    [entry] = audits(app, "department")
    assert (entry.action, entry.entity_id, entry.after) == (
        "create",
        department_id,
        {"key": "KITA", "name": "Kita-Eigenbetrieb", "aliases": ["Eigenbetrieb Kita", "Kitas"]},
    )
    assert origin(entry) == ("console:Anna Schmidt", "console", "konsole", "Anna Schmidt-1")


def test_department_new_in_english_and_ascii_spellings(anna: Chat) -> None:
    assert anna.say('department new KULT "Kulturbüro"').splitlines()[:2] == [
        "Ressort angelegt",
        "Kulturbüro (KULT)",
    ]
    # A lower-case key is stored in capitals.
    assert anna.say('ressort_neu kita2 "Kita zwei"').splitlines()[1] == "Kita zwei (KITA2)"
    assert anna.say('new department SPORT "Sportamt"').splitlines()[1] == "Sportamt (SPORT)"


def test_ressort_neu_with_bad_input_changes_nothing(anna: Chat) -> None:
    before = world(anna.app)
    for typed, outcome, expected in [
        ('ressort neu JA "Doppelt"', "refused", ["Das Kürzel JA hat schon Jugendamt (JA)."]),
        ('ressort neu ja "Doppelt"', "refused", ["Das Kürzel JA hat schon Jugendamt (JA)."]),
        ('ressort neu X1 "Neu" alias:Jugend', "refused", ["Alias schon vergeben: Jugend"]),
        (
            'ressort neu Zu-lang "X"',
            "usage",
            ["Das Kürzel: 1–10 Buchstaben oder Ziffern, z. B. JA.", *RESSORT_NEU_USAGE],
        ),
        ("ressort neu", "usage", RESSORT_NEU_USAGE),
        ("ressort neu KITA", "usage", RESSORT_NEU_USAGE),
        (
            'ressort neu KITA "Kita',
            "usage",
            ["Ein Anführungszeichen ist nicht geschlossen.", *RESSORT_NEU_USAGE],
        ),
    ]:
        reply = anna.reply(typed)
        assert (reply.outcome, reply.plain()) == (outcome, "\n".join(expected)), typed
    assert world(anna.app) == before


# -- ressort verknüpfen / ressort -------------------------------------------------------------


def test_ressort_verknuepfen_links_this_room_to_a_department(sqlite_app: App) -> None:
    anna = Chat(sqlite_app, "Anna Schmidt", "kita-team")
    assert anna.say("ressort") == (
        "Raum: console:kita-team\nNicht verknüpft. Verknüpfen mit: ressort verknüpfen <ressort>"
    )
    assert anna.say("ressort verknüpfen Jugendamt") == "\n".join(
        [
            "Raum verknüpft",
            "Dieser Raum gehört jetzt zu Jugendamt (JA). „status“ zeigt hier dessen Maßnahmen.",
        ]
    )
    assert anna.say("ressort") == "Raum: console:kita-team\nRessort: Jugendamt (JA)"
    assert anna.say("status") == OVERVIEW_JA
    assert anna.say("wer bin ich").splitlines()[-1] == "Raum verknüpft mit Jugendamt (JA)"
    assert anna.say("überfällig").splitlines()[0] == "Überfällig — JA (3)"
    # Someone else in the room sees the same.
    assert Chat(sqlite_app, "Markus Becker", "kita-team").say("status") == OVERVIEW_JA
    [entry] = audits(sqlite_app, "room")
    assert (entry.action, entry.before, entry.after) == (
        "link",
        {"department": None},
        {"department": "JA", "room": "console:kita-team"},
    )
    assert origin(entry) == ("console:Anna Schmidt", "console", "kita-team", "Anna Schmidt-2")


def test_ressort_verknuepfen_relinks_and_has_ascii_and_english_forms(sqlite_app: App) -> None:
    anna = Chat(sqlite_app, "Anna Schmidt", "jugendamt")
    assert (
        anna.say("ressort_verknuepfen Schule")
        .splitlines()[1]
        .startswith("Dieser Raum gehört jetzt zu Schulamt (SA).")
    )
    assert anna.say("status").splitlines()[0] == "📊 Schulamt (SA) — 15 Maßnahmen, 5 federführend"
    assert anna.say("department link Amt 51").splitlines()[0] == "Raum verknüpft"
    assert anna.say("status") == OVERVIEW_JA
    assert anna.say("department") == "Raum: console:jugendamt\nRessort: Jugendamt (JA)"
    entries = audits(sqlite_app, "room")
    assert [(e.before, (e.after or {})["department"]) for e in entries] == [
        ({"department": "JA"}, "SA"),
        ({"department": "SA"}, "JA"),
    ]


def test_ressort_verknuepfen_with_unknown_or_ambiguous_department(sqlite_app: App) -> None:
    anna = Chat(sqlite_app, "Anna Schmidt", "kita-team")
    before = world(sqlite_app)
    assert anna.say("ressort verknüpfen abc") == (
        "„abc“ habe ich nicht gefunden.\nRessorts: BB, JA, SA, SP, UA, SOZ, KA, WF, GA, IB"
    )
    assert anna.say("ressort verknüpfen") == "\n".join(
        ["Aufruf: ressort verknüpfen <ressort>", "Beispiel: ressort verknüpfen Jugendamt"]
    )
    assert anna.say("ressort verknüpfen amt") == "\n".join(
        [
            "„amt“ passt auf mehrere. Bitte mit der Nummer antworten:",
            "1. Jugendamt (JA)",
            "2. Schulamt (SA)",
            "3. Stadtplanung (SP)",
            "4. Umweltamt (UA)",
            "5. Sozialamt (SOZ)",
            "… und 3 weitere — genauer eingrenzen",
        ]
    )
    assert world(sqlite_app) == before
    assert anna.say("2").splitlines()[1].startswith("Dieser Raum gehört jetzt zu Schulamt (SA).")
    assert anna.say("ressort") == "Raum: console:kita-team\nRessort: Schulamt (SA)"


def test_ressort_in_the_coordination_room(sqlite_app: App) -> None:
    anna = Chat(sqlite_app, "Anna Schmidt", "koordination")
    assert anna.say("ressort") == (
        "Raum: console:koordination\nKoordinationsraum (Wochenübersicht, Sitzungen)"
    )


# -- raum koordination ------------------------------------------------------------------------


def test_raum_koordination_moves_the_coordination_room_here(sqlite_app: App) -> None:
    anna = Chat(sqlite_app, "Anna Schmidt", "steuergruppe")
    assert anna.say("raum koordination") == "\n".join(
        [
            "Koordinationsraum",
            "Dies ist jetzt der Koordinationsraum: Wochenübersicht und Sitzungen ohne eigenen "
            "Raum gehen hierher.",
            "Vorher: console:koordination",
        ]
    )
    assert coordination_rooms(sqlite_app) == ["steuergruppe"]
    assert anna.say("wer bin ich").splitlines()[-1] == "Koordinationsraum"
    old = Chat(sqlite_app, "Anna Schmidt", "koordination")
    assert old.say("wer bin ich").splitlines()[-1] == "Raum nicht verknüpft"
    [entry] = audits(sqlite_app, "room")
    assert (entry.action, entry.before, entry.after) == (
        "coordination",
        {"coordination": ["console:koordination"]},
        {"coordination": "console:steuergruppe"},
    )
    assert origin(entry) == ("console:Anna Schmidt", "console", "steuergruppe", "Anna Schmidt-1")


def test_raum_koordination_in_a_department_room_and_other_spellings(sqlite_app: App) -> None:
    anna = Chat(sqlite_app, "Anna Schmidt", "jugendamt")
    assert anna.say("raum_koordination").splitlines()[-1] == "Vorher: console:koordination"
    assert anna.say("wer bin ich").splitlines()[-2:] == [
        "Raum verknüpft mit Jugendamt (JA)",
        "Auch Koordinationsraum",
    ]
    assert anna.say("ressort") == "\n".join(
        [
            "Raum: console:jugendamt",
            "Ressort: Jugendamt (JA)",
            "Koordinationsraum (Wochenübersicht, Sitzungen)",
        ]
    )
    # The room keeps its department: status there is still the Jugendamt.
    assert anna.say("status") == OVERVIEW_JA
    audits_before = len(audits(sqlite_app, "room"))
    assert anna.say("room coordination") == "Dieser Raum ist bereits der Koordinationsraum."
    assert coordination_rooms(sqlite_app) == ["jugendamt"]
    assert len(audits(sqlite_app, "room")) == audits_before


# -- person neu -------------------------------------------------------------------------------


def test_person_neu_registers_someone_who_can_then_work(anna: Chat) -> None:
    app = anna.app
    assert anna.say(
        'person neu "Max Müller" ressort:JA rolle:ressort matrix:@max:musterstadt.de'
    ) == "\n".join(
        ["Person registriert", "Max Müller — Jugendamt (JA), ressort", "matrix:@max:musterstadt.de"]
    )
    max_ = Chat(app, "@max:musterstadt.de", "!jugend:musterstadt.de", "matrix")
    assert max_.say("wer bin ich").splitlines()[1:3] == [
        "Chat-ID: matrix:@max:musterstadt.de",
        "Registriert als Max Müller — Jugendamt (JA), Rolle ressort",
    ]
    assert max_.say("melden M-1 85% Übergabe an Max").splitlines()[0] == (
        "Bericht zu M-1 gespeichert"
    )
    assert max_.say("melden M-3 60%").startswith("Bericht zu M-3 — Ihr Ressort JA ist an M-3")
    assert anna.say("zuweisen M-8 an Max Müller").splitlines()[0] == "M-8 → Max Müller"
    [entry] = audits(app, "person")
    assert (entry.action, entry.after) == (
        "create",
        {
            "name": "Max Müller",
            "department": "JA",
            "role": "ressort",
            "identities": ["matrix:@max:musterstadt.de"],
        },
    )
    assert origin(entry) == ("console:Anna Schmidt", "console", "konsole", "Anna Schmidt-1")


def test_person_add_in_english_with_language_and_several_ids(anna: Chat) -> None:
    assert anna.say(
        'person add "Tom Tester" role:read language:en telegram:42 matrix:@tom:example.org'
    ) == "\n".join(
        ["Person registriert", "Tom Tester — –, lesen", "telegram:42, matrix:@tom:example.org"]
    )
    tom = Chat(anna.app, "42", "-100200", "telegram")
    assert tom.say("wer bin ich").splitlines()[:3] == [
        "Who am I",
        "Chat id: telegram:42",
        "Registered as Tom Tester — –, role lesen",
    ]
    assert tom.say("update M-1 50%") == (
        "“update” needs the role koordination (coordinator) or ressort (department member). "
        "Your role: lesen."
    )
    with anna.app.uows() as uow:
        tom_row = uow.session.execute(
            select(Person).where(Person.name == "Tom Tester")
        ).scalar_one()
        assert (tom_row.role, tom_row.language, tom_row.department_id) == (Role.READ, "en", None)
    assert anna.say('person_neu "Eva Klein" rolle:koordination telegram:7').splitlines()[1] == (
        "Eva Klein — –, koordination"
    )


def test_person_neu_with_bad_input_changes_nothing(anna: Chat) -> None:
    before = world(anna.app)
    for typed, outcome, expected in [
        (
            'person neu "Anna Zwei" rolle:lesen matrix:@anna.schmidt:musterstadt.de',
            "refused",
            ["matrix:@anna.schmidt:musterstadt.de gehört schon Anna Schmidt."],
        ),
        (
            'person neu "Eva" rolle:chef telegram:1234',
            "usage",
            ["Rolle: koordination, ressort oder lesen.", *PERSON_NEU_USAGE],
        ),
        (
            'person neu "Eva" rolle:lesen telegram:12x',
            "usage",
            [
                "Die Chat-ID fehlt oder ist ungültig "
                "(matrix:@name:server oder telegram:123456789).",
                *PERSON_NEU_USAGE,
            ],
        ),
        (
            'person neu "Eva" rolle:lesen matrix:eva',
            "usage",
            [
                "Die Chat-ID fehlt oder ist ungültig "
                "(matrix:@name:server oder telegram:123456789).",
                *PERSON_NEU_USAGE,
            ],
        ),
        (
            'person neu "Eva" telegram:1234',
            "usage",
            [
                "Die Rolle fehlt: rolle:koordination, rolle:ressort oder rolle:lesen.",
                *PERSON_NEU_USAGE,
            ],
        ),
        (
            'person neu "Eva" rolle:ressort telegram:1234',
            "usage",
            ["Für die Rolle ressort bitte das Ressort angeben.", *PERSON_NEU_USAGE],
        ),
        (
            'person neu "Eva" rolle:lesen sprache:fr telegram:1234',
            "usage",
            ["Sprache: de oder en.", *PERSON_NEU_USAGE],
        ),
        ("person neu", "usage", PERSON_NEU_USAGE),
    ]:
        reply = anna.reply(typed)
        assert (reply.outcome, reply.plain()) == (outcome, "\n".join(expected)), typed
    reply = anna.reply('person neu "Eva" ressort:Bauamtx rolle:ressort telegram:1234')
    assert reply.outcome == "not_found"
    assert world(anna.app) == before


# -- who may administrate ---------------------------------------------------------------------

ADMIN_COMMANDS = [
    ('ressort neu KITA "Kita-Eigenbetrieb"', "ressort neu"),
    ("ressort verknüpfen JA", "ressort verknüpfen"),
    ("ressort", "ressort"),
    ("raum koordination", "raum koordination"),
    ('person neu "Eva" rolle:lesen telegram:1234', "person neu"),
    ('department new KITA "Kita"', "ressort neu"),
    ("room coordination", "raum koordination"),
]


@pytest.mark.parametrize(
    ("name", "role"),
    [("Jonas Weber", "koordination"), ("Markus Becker", "ressort"), ("Claudia Berger", "lesen")],
)
def test_only_admins_may_administrate(sqlite_app: App, name: str, role: str) -> None:
    chat = Chat(sqlite_app, name, "jugendamt")
    before = world(sqlite_app)
    for typed, command in ADMIN_COMMANDS:
        reply = chat.reply(typed)
        assert (reply.outcome, reply.plain()) == (
            "refused",
            f"„{command}“ dürfen nur Personen mit der Rolle Administration. Ihre Rolle: {role}.",
        ), typed
    assert world(sqlite_app) == before


def test_admin_refusal_in_english(sqlite_app: App) -> None:
    sarah = Chat(sqlite_app, "Sarah Miller", "integration")
    assert sarah.say("department link JA") == (
        "“department link” needs the role admin. Your role: ressort."
    )


def test_an_admin_from_the_configuration_who_is_no_person(sqlite_app: App) -> None:
    root = Chat(sqlite_app, "@root:musterstadt.de", "!it:musterstadt.de", "matrix")
    assert root.say("wer bin ich") == "\n".join(
        [
            "Wer bin ich",
            "Chat-ID: matrix:@root:musterstadt.de",
            "Nicht registriert.",
            "Administration: ja",
            "Raum: matrix:!it:musterstadt.de",
            "Raum nicht verknüpft",
        ]
    )
    # The admin commands in the list, nothing that needs a registered person.
    listed = root.say("hilfe").splitlines()
    assert in_order(
        listed,
        [
            "Befehle",
            "hilfe [befehl] — Befehle anzeigen",
            'ressort neu <kürzel> "<name>" [alias:…] — Ressort anlegen',
            "ressort verknüpfen <ressort> — diesen Raum mit einem Ressort verknüpfen",
            "ressort — Verknüpfung dieses Raums zeigen",
            "raum koordination — diesen Raum zum Koordinationsraum machen",
            'person neu "<name>" ressort: rolle: <chat-id> — Person mit Chat-ID registrieren',
            "wer bin ich — Chat-ID, Rolle und Raum anzeigen",
            "Mehr zu einem Befehl: hilfe <befehl>",
        ],
    ), listed
    assert not any(line.startswith(("status ", "melden ", "sprache ")) for line in listed)
    assert root.say("ressort verknüpfen JA").splitlines()[0] == "Raum verknüpft"
    assert root.say('person neu "Eva Klein" ressort:JA rolle:ressort telegram:77').splitlines()[
        1
    ] == ("Eva Klein — Jugendamt (JA), ressort")
    entries = audits(sqlite_app, "room") + audits(sqlite_app, "person")
    assert [(e.actor, e.person_id, e.origin_platform) for e in entries] == [
        ("matrix:@root:musterstadt.de", None, "matrix"),
        ("matrix:@root:musterstadt.de", None, "matrix"),
    ]
    # Work on measures needs a registered person; the refusal says why.
    before = world(sqlite_app)
    assert root.say("melden M-1 50%") == (
        "„melden“ braucht eine registrierte Person mit der Rolle koordination oder ressort. "
        "Sie sind Administration, aber nicht als Person registriert. Registrieren mit: "
        'person neu "<name>" rolle:koordination matrix:@root:musterstadt.de'
    )
    assert root.say("status") == (
        "„status“ braucht eine registrierte Person. Sie sind Administration, aber nicht als "
        'Person registriert. Registrieren mit: person neu "<name>" rolle:koordination '
        "matrix:@root:musterstadt.de"
    )
    assert world(sqlite_app) == before
    # Doing what the reply says makes the admin a person who may work.
    root.say('person neu "Rita Root" rolle:koordination matrix:@root:musterstadt.de')
    assert root.say("melden M-1 85%").splitlines()[0] == "Bericht zu M-1 gespeichert"


def test_a_second_department_of_the_same_name_is_refused(sqlite_app: App) -> None:
    """Found by the real-start suite: a second "Jugendamt" made the name ambiguous."""
    root = Chat(sqlite_app, "Anna Schmidt")
    assert root.say('ressort neu JB "jugendamt"') == (
        "Ein Ressort „Jugendamt“ gibt es schon: Jugendamt (JA)."
    )
    with sqlite_app.uows() as uow:
        assert (
            uow.session.execute(
                select(Department).where(Department.key == "JB")
            ).scalar_one_or_none()
            is None
        )
