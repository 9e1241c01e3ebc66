"""One role table: docs/roles.md is generated from the registry (stale → this test fails), and
the registry is checked against a table written here by hand from PRODUCT.md §1 and §2 — not
read from the registry. The department scopes are then tried for real, from an empty database
set up on the command line."""

from __future__ import annotations

from handlers.commands import Scope
from handlers.registry import build_registry
from handlers.role_table import DOCS, role_table
from storage.models import Role
from tests.test_real_start import CLARA, LEA, MAX, RITA, Town
from tests.test_real_start import config_file as config_file
from tests.test_real_start import town as town

K, R, L = "koordination", "ressort", "lesen"
READERS = {K, R, L}
# PRODUCT.md §2's "Who" column and §1's roles: command key → (roles allowed, admin only,
# department scope). "everyone" also takes unregistered senders.
BY_HAND: dict[str, tuple[set[str] | str, str]] = {
    "help": ("everyone", "any"),
    "whoami": ("everyone", "any"),
    "language": ("everyone", "self"),
    "status": (READERS, "any"),
    "mine": (READERS, "any"),
    "due": (READERS, "any"),
    "overdue": (READERS, "any"),
    "goals": (READERS, "any"),
    "goal": (READERS, "any"),
    "matrix": (READERS, "any"),
    "history": (READERS, "any"),
    "departments": (READERS, "any"),
    "people": (READERS, "any"),
    "fields": (READERS, "any"),
    "trends": (READERS, "any"),
    "meetings": (READERS, "any"),
    "agenda": (READERS, "any"),
    "export": (READERS, "any"),
    "steering_report": (READERS, "any"),
    "chart": (READERS, "any"),
    "deputy": (READERS, "self_or_coordination"),
    "report": ({K, R}, "lead_or_participating"),
    "done": ({K, R}, "lead"),
    "indicator": ({K, R}, "lead_or_participating"),
    "new": ({K}, "any"),
    "goal_new": ({K}, "any"),
    "edit": ({K}, "any"),
    "assign": ({K}, "any"),
    "deadline": ({K}, "any"),
    "indicator_new": ({K}, "any"),
    "evaluate": ({K}, "any"),
    "field_new": ({K}, "any"),
    "field_rename": ({K}, "any"),
    "field_retire": ({K}, "any"),
    "trend_new": ({K}, "any"),
    "trend_rename": ({K}, "any"),
    "trend_retire": ({K}, "any"),
    "meeting_new": ({K}, "any"),
    "meeting_move": ({K}, "any"),
    "decision": ({K}, "any"),
    "decision_done": ({K}, "any"),
    "import": ({K}, "any"),
    "import_confirm": ({K}, "any"),
    "import_undo": ({K}, "any"),
    "reminders": ({K}, "any"),
    "department_new": ("admin", "any"),
    "department_link": ("admin", "any"),
    "department_unlink": ("admin", "any"),
    "department": ("admin", "any"),
    "room_coordination": ("admin", "any"),
    "person_new": ("admin", "any"),
    "person_edit": ("admin", "any"),
    "person_deactivate": ("admin", "any"),
}
ROLES = {K: Role.COORDINATION, R: Role.DEPARTMENT, L: Role.READ}


def test_docs_roles_md_is_generated_from_the_registry() -> None:
    assert DOCS.read_text(encoding="utf-8") == role_table(), (
        "docs/roles.md is stale: run `python -m handlers.role_table`"
    )


def test_every_command_role_and_scope_is_as_the_product_says() -> None:
    commands = {c.key: c for c in build_registry().commands}
    assert set(commands) == set(BY_HAND), "a command without a row in BY_HAND, or the reverse"
    for key, (who, scope) in BY_HAND.items():
        command = commands[key]
        allowed = {name for name, role in ROLES.items() if command.access.allows(role, False)}
        unregistered = command.access.allows(None, False)
        admin_without_role = command.access.allows(None, True)
        if who == "everyone":
            assert (allowed, unregistered) == (READERS, True), key
        elif who == "admin":
            assert (allowed, unregistered, admin_without_role) == (set(), False, True), key
        else:
            assert (allowed, unregistered) == (who, False), key
        assert command.scope is Scope(scope), key


def test_department_members_act_only_within_their_departments_scope(town: Town) -> None:
    clara = town.chat(CLARA)
    for typed in (
        'ziel neu "Sprache"',
        'neu "Kita JA" ressort:JA ziel:Z-1',
        'neu "Schule SA mit JA" ressort:SA beteiligt:JA',
        'neu "Schule SA" ressort:SA',
        'kennzahl neu "Sprachförderbedarf" ziel:Z-1 einheit:% richtung:fallend',
    ):
        assert clara.reply(typed).outcome == "ok", typed
    max_ = town.chat(MAX)  # Jugendamt
    assert max_.say("melden M-1 20%").startswith("Bericht zu M-1 gespeichert")
    assert max_.say("melden M-2 20%").startswith("Bericht zu M-2 gespeichert")  # takes part
    assert max_.reply("melden M-3 20%").outcome == "refused"
    assert max_.reply("erledigt M-2").outcome == "refused"  # takes part, does not lead
    assert max_.reply("erledigt M-1").outcome == "ok"
    assert max_.reply("kennzahl K-1 30").outcome == "ok"  # Z-1: JA leads a measure of it
    lea = town.chat(LEA)  # Schulamt: no measure of Z-1
    assert lea.reply("kennzahl K-1 31").outcome == "refused"
    rita = town.chat(RITA)
    assert rita.reply("melden M-1 30%").outcome == "refused"
    assert rita.reply("sprache en").outcome == "ok"  # for herself
    assert rita.reply("vertretung Max Müller durch Lea Lang bis 31.12.2026").outcome == "refused"
    assert max_.reply("vertretung durch Lea Lang bis 31.12.2026").outcome == "ok"
    assert clara.reply("vertretung Lea Lang durch Max Müller bis 31.12.2026").outcome == "ok"
