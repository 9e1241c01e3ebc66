"""docs/roles.md, generated from the registry: every command and who may use it.

`python -m handlers.role_table` rewrites the file; tests/test_roles.py fails when it is stale
(and checks the registry against a table written by hand from PRODUCT.md §1).
"""

from __future__ import annotations

import sys
from pathlib import Path

from handlers.commands import Access, Command, Scope
from handlers.registry import build_registry

DOCS = Path(__file__).resolve().parents[1] / "docs" / "roles.md"

_WHO = {
    Access.EVERYONE: "everyone, also unregistered senders",
    Access.REGISTERED: "koordination, ressort, lesen",
    Access.MEMBER: "koordination, ressort",
    Access.COORDINATION: "koordination",
    Access.ADMIN: "administrators",
}
_SCOPE = {
    Scope.ANY: "",
    Scope.LEAD_OR_PARTICIPATING: (
        "ressort: only measures and goals their department leads or takes part in"
    ),
    Scope.LEAD: "ressort: only measures their department leads",
    Scope.SELF_OR_COORDINATION: "themselves; koordination for anyone",
    Scope.SELF: "themselves",
}


_INTRO = (
    "Generated from the command registry (handlers/registry.py)",
    "by `python -m handlers.role_table`; a test fails when it is stale.",
    "",
    "Roles (PRODUCT.md §1): `koordination` (coordinators), `ressort`",
    "(department members), `lesen` (read only). Administrators are named",
    "in the configuration (`[bot] admins`) or registered with `--admin`;",
    "they may also do everything their role allows. A deactivated person",
    "may only use `hilfe` and `wer bin ich`. A refusal names the role",
    "that is needed.",
)


def _row(command: Command) -> str:
    names = " / ".join(f"`{name}`" for name in (command.de[0], command.en[0]))
    changes = "yes" if command.writes else "no"
    return f"| {names} | {_WHO[command.access]} | {_SCOPE[command.scope]} | {changes} |"


def role_table() -> str:
    commands = sorted(build_registry().commands, key=lambda c: c.de[0])
    lines = [
        "# Who may use which command",
        "",
        *_INTRO,
        "",
        "| Command (German / English) | Who | Department scope | Changes data |",
        "|---|---|---|---|",
        *(_row(command) for command in commands),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - the maintainer's tool
    DOCS.write_text(role_table(), encoding="utf-8")
    sys.stdout.write(f"wrote {DOCS}\n")
