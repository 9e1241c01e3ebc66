"""The command type: names in German, English and ASCII, who may run it; its usage, example
and help are in the catalogue (`commands.<key>.usage`, handlers/texts/)."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from handlers.args import Args
from handlers.context import Context
from handlers.core import Language, Reply
from handlers.i18n import t
from storage.models import Role

Handler = Callable[[Context, Args], Reply]

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def fold(name: str) -> str:
    """`Fällig`, `faellig`, `ziel_neu` and `ziel neu` all fold to one key."""
    return " ".join(name.casefold().translate(_FOLD).replace("_", " ").split())


class Access(enum.Enum):
    EVERYONE = "everyone"
    REGISTERED = "registered"
    MEMBER = "member"  # koordination or ressort (scope checked by the handler)
    COORDINATION = "coordination"
    ADMIN = "admin"

    def allows(self, role: Role | None, is_admin: bool) -> bool:
        if self is Access.EVERYONE:
            return True
        if self is Access.ADMIN:
            return is_admin
        if role is None:
            return False
        if self is Access.REGISTERED:
            return True
        if self is Access.MEMBER:
            return role in (Role.COORDINATION, Role.DEPARTMENT)
        return role is Role.COORDINATION

    def roles(self, lang: Language) -> str:
        """Who may run a command of this access, as the refusal names it."""
        return t(lang, _ACCESS_ROLES[self])


_ACCESS_ROLES = {
    Access.EVERYONE: "access.everyone",
    Access.REGISTERED: "access.registered",
    Access.MEMBER: "access.member",
    Access.COORDINATION: "access.coordination",
    Access.ADMIN: "access.admin",
}


class Scope(enum.Enum):
    """Which objects a permitted role may act on (PRODUCT.md §1); the handler enforces it."""

    ANY = "any"
    # A department member: measures and goals their department leads or takes part in.
    LEAD_OR_PARTICIPATING = "lead_or_participating"
    # A department member: measures their department leads.
    LEAD = "lead"
    # Anyone for themselves; coordinators for anyone (vertretung).
    SELF_OR_COORDINATION = "self_or_coordination"
    # Anyone, for themselves only (sprache).
    SELF = "self"


# Commands a sender who is not registered may still use (they reveal nothing of the data).
OPEN_TO_UNREGISTERED = frozenset({"help", "whoami"})


@dataclass(frozen=True)
class Command:
    key: str
    de: tuple[str, ...]
    en: tuple[str, ...]
    access: Access
    handler: Handler
    writes: bool = False
    options: dict[str, str] = field(default_factory=dict)
    # Shown in `hilfe` and published as menu entries; hidden commands still work.
    listed: bool = True
    # May take seconds (an import, an export): adapters answer it beside the room's order,
    # so messages sent meanwhile are not held up behind it.
    slow: bool = False
    scope: Scope = Scope.ANY

    @property
    def ascii(self) -> str:
        """The Telegram menu form: lowercase ASCII, umlauts spelled out, `_` for spaces."""
        return re.sub(r"[^a-z0-9_]", "", fold(self.de[0]).replace(" ", "_"))

    def name(self, lang: Language) -> str:
        return self.de[0] if lang == "de" else self.en[0]

    # Usage, example and help are in the catalogue under `commands.<key>`.
    @property
    def usage(self) -> tuple[str, str]:
        """(German, English), as the command table had them."""
        return self.usage_line("de"), self.usage_line("en")

    @property
    def example(self) -> tuple[str, str]:
        return self.example_line("de"), self.example_line("en")

    @property
    def help(self) -> tuple[str, str]:
        return self.help_line("de"), self.help_line("en")

    def usage_line(self, lang: Language) -> str:
        return t(lang, f"commands.{self.key}.usage")

    def example_line(self, lang: Language) -> str:
        return t(lang, f"commands.{self.key}.example")

    def help_line(self, lang: Language) -> str:
        return t(lang, f"commands.{self.key}.help")


class Registry:
    """Every command once; finds the command a text starts with (longest name wins)."""

    def __init__(self, commands: Iterable[Command] = ()) -> None:
        self.commands: list[Command] = []
        self._by_name: dict[str, Command] = {}
        self._longest = 1
        for command in commands:
            self.add(command)

    def add(self, command: Command) -> None:
        for name in (*command.de, *command.en, command.ascii):
            folded = fold(name)
            other = self._by_name.get(folded)
            if other is not None and other is not command:
                raise ValueError(f"command name {name!r} used twice")
            self._by_name[folded] = command
            self._longest = max(self._longest, len(folded.split()))
        self.commands.append(command)

    def names(self) -> list[str]:
        return sorted({n for c in self.commands for n in (c.de[0], c.en[0])})

    def get(self, key: str) -> Command:
        for command in self.commands:
            if command.key == key:
                return command
        raise KeyError(key)

    def find(self, text: str) -> tuple[Command, int] | None:
        """The command `text` starts with and where its arguments begin."""
        words = list(re.finditer(r"\S+", text))
        for count in range(min(self._longest, len(words)), 0, -1):
            candidate = fold(" ".join(m.group() for m in words[:count]))
            command = self._by_name.get(candidate)
            if command is not None:
                return command, words[count - 1].end()
        return None
