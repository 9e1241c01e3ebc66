"""Reading Matrix, pure functions: the command in a message, who may invite, and stable
transaction ids."""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Iterable
from typing import Any

PLATFORM = "matrix"


def strip_reply_fallback(body: str) -> str:
    """Drop the `> <@user> quoted text` lines older clients put before a reply."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith(">"):
        return body
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    if lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)


def command_text(
    content: dict[str, Any],
    *,
    prefix: str,
    user_id: str,
    names: Iterable[str],
    is_direct: bool,
) -> str | None:
    """The command in a message (without prefix or mention), or None when it is not for us.

    A command starts with the prefix (`!status`), or addresses the bot by name
    (`Regelkreis: status`, a mention pill, `@regelkreis:stadt.de status`); in a direct room
    every message is a command.
    """
    body = content.get("body")
    if not isinstance(body, str):
        return None
    text = strip_reply_fallback(body).strip()
    if text.startswith(prefix):
        return text[len(prefix) :].strip() or None
    mentions = content.get("m.mentions")
    mentioned = isinstance(mentions, dict) and user_id in (mentions.get("user_ids") or [])
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        if not text.casefold().startswith(name.casefold()):
            continue
        rest = text[len(name) :]
        # "Regelkreis ist toll" is not a command; "Regelkreis: status" and a pill are.
        if not (mentioned or name == user_id or rest[:1] in (":", ",")):
            continue
        rest = rest.lstrip(":, \t").strip()
        if rest.startswith(prefix):
            rest = rest[len(prefix) :].strip()
        return rest or None
    if mentioned:
        # Mentioned mid-sentence: the command is the text without the mention.
        for name in sorted({n for n in names if n}, key=len, reverse=True):
            found = text.casefold().find(name.casefold())
            if found >= 0:
                text = (text[:found] + text[found + len(name) :]).strip(" :,\t")
                break
        return text.strip() or None
    if is_direct:
        return text or None
    return None


def inviter_allowed(inviter: str, allowed: Iterable[str], admins: Iterable[str]) -> bool:
    """Allowed: admins named in the configuration, users matching a glob, users of a server."""
    if f"{PLATFORM}:{inviter}" in admins:
        return True
    server = inviter.split(":", 1)[1] if ":" in inviter else ""
    for entry in allowed:
        if entry.startswith("@"):
            if fnmatch.fnmatchcase(inviter, entry):
                return True
        elif fnmatch.fnmatchcase(server, entry.lstrip(":")):
            return True
    return False


def transaction_id(*parts: str) -> str:
    """A stable transaction id: a resend of the same message reuses it, so it posts once."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"rk{digest[:32]}"
