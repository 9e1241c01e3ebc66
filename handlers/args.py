"""Argument parsing: free words, "quoted text" and key:value options, with their spans."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Straight and typographic quotes: phones turn " into „ “ ” on their own.
_OPENING = {'"': '"', "„": "“", "“": "”", "”": "”", "«": "»", "»": "«", "'": "'"}


@dataclass(frozen=True)
class Token:
    """One argument with its place in the command text, so a numbered pick can replace it."""

    text: str
    start: int
    end: int
    quoted: bool = False


@dataclass
class Args:
    words: list[Token] = field(default_factory=list)
    options: dict[str, Token] = field(default_factory=dict)

    def texts(self) -> list[str]:
        return [w.text for w in self.words]


class ParseError(ValueError):
    """The argument text cannot be split (an unclosed quote)."""


def tokenize(text: str, offset: int = 0) -> list[Token]:
    """Split into words, keeping quoted text (straight or typographic quotes) as one token."""
    tokens: list[Token] = []
    i = 0
    n = len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        buffer: list[str] = []
        quoted = False
        while i < n and not text[i].isspace():
            char = text[i]
            if char in _OPENING and (i == start or text[i - 1] == ":"):
                closing = _OPENING[char]
                end = _find_closing(text, i + 1, char, closing)
                if end < 0:
                    raise ParseError(text[i:])
                buffer.append(text[i + 1 : end])
                quoted = True
                i = end + 1
                continue
            buffer.append(char)
            i += 1
        tokens.append(Token("".join(buffer), start + offset, i + offset, quoted))
    return tokens


def _find_closing(text: str, start: int, opening: str, closing: str) -> int:
    for j in range(start, len(text)):
        if text[j] == closing or (text[j] in '"“”' and opening in '"„“”'):
            return j
    return -1


_OPTION = re.compile(r"^([A-Za-zÄÖÜäöüß_-]+):(.*)$", re.DOTALL)


def parse_args(text: str, option_names: dict[str, str], offset: int = 0) -> Args:
    """Split `text`; `key:value` tokens whose key is in `option_names` become options.

    `option_names` maps every accepted spelling (German, English, ASCII) to one canonical key.
    A known key with an empty value takes the next token (`frist: 31.03.2027`).
    """
    args = Args()
    tokens = tokenize(text, offset)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        found = None if token.quoted and not token.text.count(":") else _OPTION.match(token.text)
        key = option_names.get(found.group(1).casefold()) if found else None
        if found and key:
            value = found.group(2)
            start = token.start + len(found.group(1)) + 1
            if value == "" and i + 1 < len(tokens):
                i += 1
                args.options[key] = tokens[i]
            else:
                args.options[key] = Token(value, start, token.end, token.quoted)
        else:
            args.words.append(token)
        i += 1
    return args


def split_list(token: Token) -> list[Token]:
    """`beteiligt:SA,KA` -> one token per entry, each with its own span, so a numbered pick
    replaces that entry and keeps the others."""
    # Where the value's text starts in the command: after an opening quote, if quoted.
    offset = token.start + (1 if token.quoted else 0)
    parts: list[Token] = []
    for found in re.finditer(r"[^,;]+", token.text):
        text = found.group()
        stripped = text.strip()
        if not stripped:
            continue
        start = offset + found.start() + (len(text) - len(text.lstrip()))
        parts.append(Token(stripped, start, start + len(stripped), quoted=False))
    return parts


def words_after(args: Args, token: Token) -> list[Token]:
    """The free words right after an option's value, up to the next option or quoted text."""
    limit = min((o.start for o in args.options.values() if o.start > token.start), default=None)
    following: list[Token] = []
    for word in sorted(args.words, key=lambda w: w.start):
        if word.start < token.end:
            continue
        if word.quoted or (limit is not None and word.start > limit):
            break
        following.append(word)
    return following


def stray_words(args: Args) -> list[Token]:
    """Unquoted free words after an option when the free text was quoted (`neu "Elterncafé"
    raum:Neue Mitte`): they belong to no argument, so the command asks for quotes instead of
    putting them in the title."""
    if not any(word.quoted for word in args.words):
        return []
    first_option = min((o.start for o in args.options.values()), default=None)
    if first_option is None:
        return []
    return [w for w in args.words if not w.quoted and w.start > first_option]
