"""The reply texts: one catalogue (handlers/texts/de.toml and en.toml), nothing beside it.

(a) Both languages have the same keys, and each key the same {placeholders}.
(b) handlers/ and schedules/ hold no user-facing string literal outside the catalogue; the
    adapters in bot/ hold no German text and no text chosen by language.
(c) Every key the code (handlers/, schedules/, bot/) names is in the catalogue, and every
    text in it is used; a call with a fixed key passes every placeholder of its text.

The rule of (b): a string literal (an f-string counts with its fixed parts) is a reply text
when it contains a letter and
  - whitespace, a letter outside ASCII (ä, ö, ü, ß, é, …) or a sentence end (`Ende.`), or
  - it is chosen by language: an operand of `… if lang == "de" else …`, or a value of a
    dict keyed by language (`{"de": …, "en": …}`) (the language codes "de" and "en"
    themselves are no text).
In bot/, whose operator messages (command line, configuration, logs, delivery details) are
English by design, only the second holds, and a letter outside ASCII or German quotation
marks („…“): what reads as German there is a reply text the catalogue lacks.
It is no reply text where it stands for something else: docstrings; the arguments of
logging calls (`log.*`, `logging.*`) and the messages of exceptions meant for the log
(ValueError, RuntimeError, …, assert); regular expressions (raw strings, `re.*`) and
date formats (`strftime`); SQL (a literal that starts with SELECT, INSERT, …); catalogue
keys; what is typed rather than read — comparisons (`word in ("an", "on")`), dict keys,
`dict.fromkeys(...)` and a command's names (`Command(key, de_names, en_names, …)`). What
is left that is still no reply is listed below, each group with its reason.
"""

from __future__ import annotations

import ast
import functools
import re
import string
from dataclasses import dataclass
from pathlib import Path

from handlers.i18n import LANGUAGES, TEXTS
from handlers.registry import build_registry

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("handlers", "schedules")
# Where only German and choices by language count as reply texts (see the module docstring).
ADAPTERS = ("bot",)

# Literals that read like text but are not replies: (module, literal as the scan shows it,
# with `{}` for an f-string's values), grouped by the reason.
NOT_REPLIES: dict[str, set[tuple[str, str]]] = {
    "typed, not read: a word that ends an absence (`vertretung zurück`)": {
        ("handlers/absence.py", "zurück"),
    },
    "why an outbox entry was dropped or waits: English for the operator (outbox.last_error, "
    "`--dry-run`), like the logs": {
        ("schedules/delivery.py", "superseded: {}"),
        ("schedules/delivery.py", "a later reminder of its kind overtook it"),
        ("schedules/delivery.py", "nothing left to report before the meeting"),
        ("schedules/delivery.py", "the measure is gone"),
        ("schedules/delivery.py", "{} is {}"),
        ("schedules/delivery.py", "{} was reported on since"),
        ("schedules/delivery.py", "the deadline of {} changed"),
        ("schedules/delivery.py", "the meeting is gone"),
        ("schedules/delivery.py", "a value arrived since, or the indicator changed"),
        ("schedules/delivery.py", "{} has begun"),
        ("schedules/delivery.py", "{} was moved"),
        ("schedules/delivery.py", "no recipient on a configured platform"),
    },
    "the outbox record's short German summary for the operator; the message itself is "
    "rendered at delivery from the catalogue (schedules/messages.py)": {
        ("schedules/sweep.py", "Tagesordnung {} ({})"),
        ("schedules/sweep.py", "Sitzung {} am {}: Bitte berichten ({})"),
        ("schedules/sweep.py", "Wochenübersicht ab {}"),
        ("schedules/sweep.py", "Frist {} in {} Tagen"),
        ("schedules/sweep.py", "Überfällig seit {} (Woche {})"),
        ("schedules/sweep.py", "Bericht fällig seit {}"),
    },
    "the scheduler's job name, seen in its logs": {
        ("schedules/scheduler.py", "reminder sweep and outbox delivery"),
    },
    "example names in the command line's (English) help: data as the operator types it": {
        ("bot/cli_people.py", 'the person, e.g. "Max Müller" or "Max Müller (JA)"'),
        ("bot/cli_privacy.py", 'the person, e.g. "Max Müller" or "Max Müller (JA)"'),
        (
            "bot/cli_people.py",
            "Change a registered person; what changed is printed and audited. A name shared by "
            'several people needs their department: "Max Müller (JA)".',
        ),
        ("bot/cli_parser.py", 'display name, e.g. "Max Müller"'),
        ("bot/cli_parser.py", "Fachkräftemangel"),
    },
    "a plan's column headers and sheet names: words in the spreadsheets people import, and "
    "the export's header row, German by design so an exported plan re-imports (PRODUCT.md §4)": {
        ("handlers/plan_columns.py", "Beteiligte Ämter"),
        ("handlers/plan_columns.py", "Erläuterung"),
        ("handlers/plan_columns.py", "Federführendes Amt"),
        ("handlers/plan_columns.py", "Federführung"),
        ("handlers/plan_columns.py", "Field of action"),
        ("handlers/plan_columns.py", "Fortschritt (%)"),
        ("handlers/plan_columns.py", "Fortschritt in %"),
        ("handlers/plan_columns.py", "Lead department"),
        ("handlers/plan_columns.py", "Lfd. Nr."),
        ("handlers/plan_columns.py", "Maßnahme"),
        ("handlers/plan_columns.py", "Maßnahmen"),
        ("handlers/plan_columns.py", "Maßnahmen-Nr."),
        ("handlers/plan_columns.py", "Maßnahmenplan"),
        ("handlers/plan_columns.py", "Maßnahmentitel"),
        ("handlers/plan_columns.py", "No."),
        ("handlers/plan_columns.py", "Nr."),
        ("handlers/plan_columns.py", "Parent goal"),
        ("handlers/plan_columns.py", "Planning area"),
        ("handlers/plan_columns.py", "Regelkreis ID"),
        ("handlers/plan_columns.py", "Verantwortliches Amt"),
        ("handlers/plan_columns.py", "Zuständig"),
        ("handlers/plan_columns.py", "bis wann"),
        ("handlers/plan_columns.py", "federführend"),
    },
    "an exception's message for the log; the reply is the catalogue's limits.*": {
        ("handlers/dates.py", "{}: {} is not between {} and {}"),
    },
    "a character class of right-to-left scripts (bot/outgoing.py)": {
        ("bot/outgoing.py", "\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc"),
    },
    "docs/roles.md as handlers/role_table.py writes it: documentation, in English": {
        ("handlers/role_table.py", "everyone, also unregistered senders"),
        ("handlers/role_table.py", "koordination, ressort, lesen"),
        ("handlers/role_table.py", "koordination, ressort"),
        (
            "handlers/role_table.py",
            "ressort: only measures and goals their department leads or takes part in",
        ),
        ("handlers/role_table.py", "ressort: only measures their department leads"),
        ("handlers/role_table.py", "themselves; koordination for anyone"),
        ("handlers/role_table.py", "# Who may use which command"),
        ("handlers/role_table.py", "Generated from the command registry (handlers/registry.py)"),
        (
            "handlers/role_table.py",
            "by `python -m handlers.role_table`; a test fails when it is stale.",
        ),
        (
            "handlers/role_table.py",
            "Roles (PRODUCT.md §1): `koordination` (coordinators), `ressort`",
        ),
        (
            "handlers/role_table.py",
            "(department members), `lesen` (read only). Administrators are named",
        ),
        (
            "handlers/role_table.py",
            "in the configuration (`[bot] admins`) or registered with `--admin`;",
        ),
        (
            "handlers/role_table.py",
            "they may also do everything their role allows. A deactivated person",
        ),
        (
            "handlers/role_table.py",
            "may only use `hilfe` and `wer bin ich`. A refusal names the role",
        ),
        ("handlers/role_table.py", "that is needed."),
        (
            "handlers/role_table.py",
            "| Command (German / English) | Who | Department scope | Changes data |",
        ),
        ("handlers/role_table.py", "wrote {}\n"),
    },
    "a legend's place as matplotlib names it (handlers/charts.py)": {
        ("handlers/charts.py", "outside lower center"),
    },
}
# What the catalogue replaced: the old way to choose a text by language, and the bilingual
# constants of the adapters and of storage, as (module, name); none may come back.
GONE_NAMES = {"de_en", "_de_en"}
GONE_CONSTANTS = {
    ("bot/email.py", "_WORDS"),
    ("bot/telegram/updates.py", "_LEAVE_NOTE"),
    ("bot/telegram/updates.py", "_APOLOGY"),
    ("bot/matrix/events.py", "_RESEND"),
    ("storage/intervals.py", "interval_name"),
}

_LETTER = re.compile(r"[^\W\d_]")
_NON_ASCII_LETTER = re.compile(r"[^\W\d_a-zA-Z]")
_GERMAN_QUOTES = re.compile(r"[„“]")
_SENTENCE_END = re.compile(r"[^\W\d_][.!?…](\s|$)")
_SQL = re.compile(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b")
_LOGGERS = re.compile(r"^_?(log|logger|logging)$")
_LOG_EXCEPTIONS = {
    "AssertionError",
    "KeyError",
    "LookupError",
    "NotImplementedError",
    "RuntimeError",
    "TypeError",
    "ValueError",
}
_LANGUAGE_CODES = {"de", "en"}
_NOT_TEXT_CALLS = {"strftime", "strptime", "compile", "getLogger", "fromkeys"}
_KEY_SHAPE = re.compile(r"^[a-z_]+(\.[a-z0-9_]+)+$")


def reads_as_text(text: str) -> bool:
    if not _LETTER.search(text) or _SQL.match(text):
        return False
    return bool(
        re.search(r"\s", text) or _NON_ASCII_LETTER.search(text) or _SENTENCE_END.search(text)
    )


def reads_as_german(text: str) -> bool:
    """The rule of bot/: a letter outside ASCII, or German quotation marks."""
    if not _LETTER.search(text) or _SQL.match(text):
        return False
    return bool(_NON_ASCII_LETTER.search(text) or _GERMAN_QUOTES.search(text))


@dataclass(frozen=True)
class Literal:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text!r}"


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    if isinstance(node.func, ast.Name):
        return node.func.id
    return None


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Call):
        node = node.value if isinstance(node, ast.Attribute) else node.func
    return node.id if isinstance(node, ast.Name) else None


def _joined(node: ast.JoinedStr) -> str:
    return "".join(
        v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{}"
        for v in node.values
    )


def _is_language_test(node: ast.expr) -> bool:
    """`lang == "de"`, `ctx.lang != "en"` and the like."""
    return any(
        isinstance(sub, ast.Compare)
        and any(
            isinstance(c, ast.Constant) and c.value in _LANGUAGE_CODES
            for c in [sub.left, *sub.comparators]
        )
        for sub in ast.walk(node)
    )


class _Scan(ast.NodeVisitor):
    """The literals of one module that read as reply texts (see the module docstring)."""

    def __init__(self, path: str, source: str, *, adapter: bool = False) -> None:
        self.path = path
        self.source = source
        self.reads = reads_as_german if adapter else reads_as_text
        self.found: list[Literal] = []
        self.chosen = 0  # > 0 inside a choice by language

    def _body(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            if (
                isinstance(statement, ast.Expr)
                and isinstance(statement.value, ast.Constant)
                and isinstance(statement.value.value, str)
            ):
                continue  # a docstring
            self.visit(statement)

    def visit_Module(self, node: ast.Module) -> None:
        self._body(node.body)

    def visit_Expr(self, node: ast.Expr) -> None:
        if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _call_name(node)
        root = _root_name(node.func)
        if isinstance(node.func, ast.Attribute) and root is not None and _LOGGERS.match(root):
            return  # log.info(...), logging.getLogger(...)
        if root == "re" or name in _NOT_TEXT_CALLS:
            return
        if name == "Command":
            # The command's names (arguments 2 and 3) are what people type, in either language.
            self.visit(node.func)
            for i, arg in enumerate(node.args):
                if i not in (1, 2):
                    self.visit(arg)
            for keyword in node.keywords:
                if keyword.arg not in ("de", "en"):
                    self.visit(keyword.value)
            return
        self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> None:
        if isinstance(node.exc, ast.Call) and _call_name(node.exc) in _LOG_EXCEPTIONS:
            return
        self.generic_visit(node)

    def visit_Assert(self, node: ast.Assert) -> None:
        self.visit(node.test)

    def visit_Compare(self, node: ast.Compare) -> None:
        return  # `word in ("an", "on")`: what is typed, not what is read

    def visit_Dict(self, node: ast.Dict) -> None:
        keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
        language = int(len(keys & _LANGUAGE_CODES) > 1)
        self.chosen += language
        for value in node.values:
            self.visit(value)
        self.chosen -= language

    def visit_Subscript(self, node: ast.Subscript) -> None:
        self.visit(node.value)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self.visit(node.test)
        language = int(_is_language_test(node.test))
        self.chosen += language
        self.visit(node.body)
        self.visit(node.orelse)
        self.chosen -= language

    def visit_FormattedValue(self, node: ast.FormattedValue) -> None:
        self.visit(node.value)  # not the format spec (`{when:%H:%M}`)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        if self._raw(node):
            return
        self._check(node, _joined(node))
        for value in node.values:
            if not isinstance(value, ast.Constant):
                self.visit(value)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and not self._raw(node):
            self._check(node, node.value)

    def _raw(self, node: ast.expr) -> bool:
        """A raw string is a regular expression (`r"(?:ende|end of)"`)."""
        segment = ast.get_source_segment(self.source, node) or ""
        prefix = re.match(r"[A-Za-z]*", segment)
        return prefix is not None and "r" in prefix.group().lower()

    def _check(self, node: ast.expr, text: str) -> None:
        chosen = self.chosen and text not in _LANGUAGE_CODES and _LETTER.search(text)
        if chosen or self.reads(text):
            self.found.append(Literal(self.path, node.lineno, text))


def _modules(root: Path = ROOT, folders: tuple[str, ...] = SCANNED) -> list[tuple[str, str]]:
    found = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            found.append((path.relative_to(root).as_posix(), path.read_text(encoding="utf-8")))
    return found


@functools.cache
def reply_literals(root: Path = ROOT) -> list[Literal]:
    """Every literal of handlers/ and schedules/ that reads as a reply text, and of bot/ that
    reads as German or is chosen by language."""
    found: list[Literal] = []
    for folders, adapter in ((SCANNED, False), (ADAPTERS, True)):
        for path, source in _modules(root, folders):
            scan = _Scan(path, source, adapter=adapter)
            scan.visit(ast.parse(source, path))
            found += scan.found
    return found


def _allowed() -> set[tuple[str, str]]:
    return set().union(*NOT_REPLIES.values())


# -- (a) the two languages --------------------------------------------------------------------


def _placeholders(text: str) -> set[str]:
    """The names of a text's {fields}: `{date:%d.%m.%Y}` is `date`."""
    names = set()
    for _literal, field, _spec, _conversion in string.Formatter().parse(text):
        if field is not None:
            names.add(re.split(r"[.\[]", field, maxsplit=1)[0])
    return names


def test_both_languages_have_the_same_keys() -> None:
    german, english = (set(TEXTS[lang]) for lang in LANGUAGES)
    assert sorted(german - english) == [], "only in de.toml"
    assert sorted(english - german) == [], "only in en.toml"


def test_both_languages_have_the_same_placeholders() -> None:
    different = []
    for key in sorted(set(TEXTS["de"]) & set(TEXTS["en"])):
        german, english = (_placeholders(TEXTS[lang][key]) for lang in LANGUAGES)
        if german != english or "" in german:
            different.append(f"{key}: {TEXTS['de'][key]!r} / {TEXTS['en'][key]!r}")
    assert different == [], "placeholders differ (or are unnamed: {})"


def test_plurals_have_both_forms() -> None:
    for lang in LANGUAGES:
        for key in TEXTS[lang]:
            base, _dot, form = key.rpartition(".")
            if form in ("one", "other"):
                other = f"{base}.{'other' if form == 'one' else 'one'}"
                assert other in TEXTS[lang], f"{key} without {other} ({lang}.toml)"


# -- (b) no reply text beside the catalogue -----------------------------------------------------


def test_no_reply_text_outside_the_catalogue() -> None:
    offenders = [f for f in reply_literals() if (f.path, f.text) not in _allowed()]
    listing = "\n".join(str(f) for f in offenders[:40])
    assert not offenders, (
        f"{len(offenders)} reply texts outside handlers/texts/ (put them in the catalogue, "
        f"see docs/architecture.md, 'Reply texts'):\n{listing}"
    )


def test_the_allow_lists_are_current() -> None:
    """Every listed exception still exists, so the lists shrink when the code does."""
    seen = {(f.path, f.text) for f in reply_literals()}
    assert sorted(_allowed() - seen) == []


def test_the_old_bilingual_mechanisms_are_gone() -> None:
    """No `de_en` (defined, called or named) anywhere, and none of the constants the
    catalogue replaced."""
    folders = ("bot", "handlers", "schedules", "storage", "tests", "scripts", "bench")
    found = []
    for path, source in _modules(ROOT, tuple(f for f in folders if (ROOT / f).is_dir())):
        for node in ast.walk(ast.parse(source, path)):
            names = []
            if isinstance(node, ast.Name):
                names = [node.id]
            elif isinstance(node, ast.Attribute):
                names = [node.attr]
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names = [node.name]
            elif isinstance(node, ast.alias):
                names = [node.name.rpartition(".")[2], node.asname or ""]
            for name in names:
                if name in GONE_NAMES or (path, name) in GONE_CONSTANTS:
                    found.append(f"{path}:{getattr(node, 'lineno', '?')}: {name}")
    assert found == []


def test_the_scan_finds_what_it_should() -> None:
    source = '''
def reply(ctx, lang, n):
    """A docstring is no reply."""
    log.info("sending %s now", n)
    if word in ("an", "on"):
        pass
    a = {"de": "Frist", "en": "due"}
    b = "Frist" if lang == "de" else "due"
    c = f"{n} Tage überfällig"
    d = "Ende."
    e = ctx.t("measures.created_heading", measure=n)
    f = "en" if lang == "en" else "de"
    raise ValueError(f"no such thing: {n}")
'''
    scan = _Scan("example.py", source)
    scan.visit(ast.parse(source))
    assert [f.text for f in scan.found] == [
        "Frist",
        "due",
        "Frist",
        "due",
        "{} Tage überfällig",
        "Ende.",
    ]


def test_the_adapter_scan_finds_german_and_choices_by_language() -> None:
    source = """
def note(lang, room):
    log.warning("could not decrypt %s", room)
    a = f"the bot is not in {room}"
    b = {"de": "Antworten im Chat", "en": "Answer in chat"}
    c = "Regelkreis verlässt diese Gruppe"
    d = "„hilfe“ zeigt die Befehle"
    e = "Sorry" if lang != "de" else "Entschuldigung"
"""
    scan = _Scan("bot/example.py", source, adapter=True)
    scan.visit(ast.parse(source))
    assert [f.text for f in scan.found] == [
        "Antworten im Chat",
        "Answer in chat",
        "Regelkreis verlässt diese Gruppe",
        "„hilfe“ zeigt die Befehle",
        "Sorry",
        "Entschuldigung",
    ]


# -- (c) keys used and texts used ---------------------------------------------------------------


def _key_arguments(node: ast.Call) -> list[ast.expr]:
    """The key argument of `t(lang, key)`, `ctx.t(key)`, `plural(lang, key, n)`,
    `ctx.plural(key, n)`, `bilingual(key)`."""
    name = _call_name(node)
    if name not in ("t", "plural", "bilingual"):
        return []
    index = 1 if isinstance(node.func, ast.Name) and name != "bilingual" else 0
    if len(node.args) <= index:
        return []
    key = node.args[index]
    if isinstance(key, ast.IfExp):
        return [key.body, key.orelse]
    return [key]


def _forms(key: str) -> list[str]:
    """A key as the catalogue has it: itself, or a plural's two forms."""
    if key in TEXTS["de"]:
        return [key]
    plural = [f"{key}.one", f"{key}.other"]
    return plural if all(k in TEXTS["de"] for k in plural) else []


@functools.cache
def _named_keys() -> tuple[dict[str, list[str]], list[str]]:
    """The keys the code names: {key: [where]}, and the key-shaped literals it names that the
    catalogue lacks."""
    families = {key.split(".", 1)[0] for key in TEXTS["de"]}
    named: dict[str, list[str]] = {}
    missing: list[str] = []
    for path, source in _modules(ROOT, SCANNED + ADAPTERS):
        for node in ast.walk(ast.parse(source, path)):
            if isinstance(node, ast.Call):
                # A key given to t() or plural() must be in the catalogue.
                for key in _key_arguments(node):
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        forms = _forms(key.value)
                        if not forms:
                            missing.append(f"{path}:{key.lineno}: {key.value!r}")
                        for form in forms:
                            named.setdefault(form, []).append(f"{path}:{key.lineno}")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                # A key kept in a table (`_FIELD_NAMES = {"deadline": "status.field_deadline"}`);
                # the dispatcher's flat keys (`key = "usage_reason" if … else "usage"`) as such.
                text = node.value
                if text in TEXTS["de"] and "." not in text:
                    # Only the dispatcher's: in bot/, "usage" or "empty" is some other word.
                    if path.split("/", 1)[0] not in ADAPTERS:
                        named.setdefault(text, []).append(f"{path}:{node.lineno}")
                    continue
                if not _KEY_SHAPE.match(text) or text.split(".", 1)[0] not in families:
                    continue
                forms = _forms(text)
                if not forms:
                    missing.append(f"{path}:{node.lineno}: {text!r}")
                for form in forms:
                    named.setdefault(form, []).append(f"{path}:{node.lineno}")
    # The registry's texts: `commands.<key>.usage`, `.example` and `.help` of each command.
    for command in build_registry().commands:
        for part in ("usage", "example", "help"):
            key = f"commands.{command.key}.{part}"
            if key not in TEXTS["de"]:
                missing.append(f"handlers/registry.py: {command.key} has no {key}")
            named.setdefault(key, []).append("handlers/registry.py")
    return named, sorted(set(missing))


def test_every_key_the_code_names_is_in_the_catalogue() -> None:
    _named, missing = _named_keys()
    assert missing == []


def test_every_text_is_used() -> None:
    named, _missing = _named_keys()
    unused = sorted(set(TEXTS["de"]) - set(named))
    assert unused == [], "texts no code names (remove them, or use them)"


def test_every_call_passes_the_placeholders_of_its_text() -> None:
    """`ctx.t("absence.set", absent=…, until=…, substitute=…)` fills every {field} of the text
    (str.format would raise only when the text is shown)."""
    short = []
    for path, source in _modules(ROOT, SCANNED + ADAPTERS):
        for node in ast.walk(ast.parse(source, path)):
            if not isinstance(node, ast.Call) or any(k.arg is None for k in node.keywords):
                continue
            passed = {k.arg for k in node.keywords}
            if _call_name(node) == "plural":
                passed.add("n")
            for key in _key_arguments(node):
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                    continue
                for form in _forms(key.value):
                    for lang in LANGUAGES:
                        missing = _placeholders(TEXTS[lang][form]) - passed
                        if missing:
                            short.append(f"{path}:{node.lineno}: {form} needs {sorted(missing)}")
    assert sorted(set(short)) == []


def test_one_week_is_named_in_the_singular() -> None:
    from handlers.i18n import interval_name

    assert interval_name("1 Woche", "de") == "1 Woche"
    assert interval_name("1 Woche", "en") == "1 week"
    assert interval_name("6 Wochen", "de") == "6 Wochen"
    assert interval_name("6 Wochen", "en") == "6 weeks"
