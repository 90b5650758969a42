"""Helpers of the i18n tests: a small PO-file parser and an extractor of the translatable strings in the code.

Neither needs GNU gettext: CI machines may not have it, and the runtime reads the committed ``.mo`` file.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "revcast"
LOCALE_DIR = PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_FILE = LOCALE_DIR / "django.po"
MO_FILE = LOCALE_DIR / "django.mo"
# Directories whose files are not extracted (as in the makemessages command of the i18n guide).
SKIPPED_DIRS = {"migrations", "demo_data", "static", "locale", "__pycache__"}


@dataclass
class Entry:
    msgid: str
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=list)  # one string, or one per plural form
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}


def _unquote(text: str) -> str:
    assert text.startswith('"') and text.endswith('"'), text
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), text[1:-1])


def parse_po(text: str) -> list[Entry]:
    """The entries of a PO file (the header is the entry with the empty msgid)."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int] | None = None  # which field continuation lines extend
    pending_flags: set[str] = set()
    pending_obsolete = False

    def finish() -> None:
        nonlocal current
        if current is not None:
            entries.append(current)
        current = None

    for raw in text.splitlines():
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
            pending_obsolete = True
        if not line:
            finish()
            target = None
            continue
        if line.startswith("#,"):
            pending_flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
            continue
        if line.startswith("#"):
            continue
        keyword, _sep, rest = line.partition(" ")
        if line.startswith('"'):
            assert current is not None and target is not None, raw
            name, index = target
            value = _unquote(line)
            if name == "msgstr":
                current.msgstr[index] += value
            else:
                setattr(current, name, (getattr(current, name) or "") + value)
            continue
        if keyword == "msgctxt" or (keyword == "msgid" and (current is None or current.msgid is not None)):
            finish()  # a new entry starts (entries are also separated by blank lines)
            current = Entry(msgid=None)  # type: ignore[arg-type]
            current.flags, current.obsolete = pending_flags, pending_obsolete
            pending_flags, pending_obsolete = set(), False
        if keyword == "msgctxt":
            current.msgctxt = _unquote(rest)
            target = ("msgctxt", 0)
        elif keyword == "msgid":
            current.msgid = _unquote(rest)
            target = ("msgid", 0)
        elif keyword == "msgid_plural":
            current.msgid_plural = _unquote(rest)
            target = ("msgid_plural", 0)
        elif keyword.startswith("msgstr"):
            index = int(keyword[7:-1]) if keyword != "msgstr" else 0
            while len(current.msgstr) <= index:
                current.msgstr.append("")
            current.msgstr[index] = _unquote(rest)
            target = ("msgstr", index)
        else:
            raise ValueError(f"unexpected PO line: {raw!r}")
    finish()
    return entries


def catalogue() -> list[Entry]:
    return [e for e in parse_po(PO_FILE.read_text(encoding="utf-8")) if not e.obsolete]


# ---------------------------------------------------------------- extraction

# gettext functions and the positions of (context, singular, plural) among their arguments.
PY_FUNCTIONS = {
    "_": (None, 0, None), "gettext": (None, 0, None), "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None), "ngettext": (None, 0, 1), "ngettext_lazy": (None, 0, 1),
    "pgettext": (0, 1, None), "pgettext_lazy": (0, 1, None), "npgettext": (0, 1, 2), "npgettext_lazy": (0, 1, 2),
}


def python_strings(source: str) -> set[tuple[str | None, str, str | None]]:
    """(context, msgid, plural) of every gettext call with literal arguments in Python source."""
    found = set()
    tree = ast.parse(source)
    # Calls inside f-strings are skipped, as by makemessages (xgettext does not look into them).
    in_fstrings = {id(n) for f in ast.walk(tree) if isinstance(f, ast.JoinedStr) for n in ast.walk(f)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in in_fstrings:
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name not in PY_FUNCTIONS:
            continue
        positions = PY_FUNCTIONS[name]
        args = node.args
        values = []
        for pos in positions:
            if pos is None:
                values.append(None)
            elif pos < len(args) and isinstance(args[pos], ast.Constant) and isinstance(args[pos].value, str):
                values.append(args[pos].value)
            else:
                values.append(False)  # not a literal: makemessages cannot extract it either
        if False in values:
            continue
        context, msgid, plural = values
        if msgid:
            found.add((context, msgid, plural))
    return found


_LITERAL = r"""u?(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
_CALL = re.compile(rf"\b(gettext|pgettext|ngettext|npgettext)\(((?:\s*{_LITERAL}\s*,?)+)")


def template_strings(source: str) -> set[tuple[str | None, str, str | None]]:
    """(context, msgid, plural) of every {% translate %} / {% blocktranslate %} in a template.

    Django's own ``templatize`` (what makemessages runs) turns the template into gettext calls."""
    from django.utils.translation.template import templatize

    found = set()
    for match in _CALL.finditer(templatize(source)):
        args = [a for a in ast.literal_eval("(" + match.group(2).rstrip().rstrip(",") + ",)")]
        kind = match.group(1)
        context = args.pop(0) if kind in ("pgettext", "npgettext") else None
        msgid = args[0]
        plural = args[1] if kind in ("ngettext", "npgettext") and len(args) > 1 else None
        found.add((context, msgid, plural))
    return found


def source_files() -> list[Path]:
    files = []
    for path in sorted(PACKAGE.rglob("*")):
        if not path.is_file() or SKIPPED_DIRS & set(path.relative_to(PACKAGE).parts):
            continue
        if path.suffix in (".py", ".html", ".txt"):
            files.append(path)
    return files


def code_strings() -> dict[tuple[str | None, str, str | None], list[str]]:
    """Every translatable string of the package -> the files that use it."""
    found: dict[tuple[str | None, str, str | None], list[str]] = {}
    for path in source_files():
        text = path.read_text(encoding="utf-8")
        strings = python_strings(text) if path.suffix == ".py" else template_strings(text)
        for key in strings:
            found.setdefault(key, []).append(str(path.relative_to(PACKAGE)))
    return found


PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|\{(\w*)\}")


def placeholders(text: str) -> list[str]:
    """The printf-style (``%(name)s``, ``%d``) and brace-style (``{name}``) placeholders of a message, sorted."""
    return sorted(m.group(0) for m in PLACEHOLDER.finditer(text.replace("%%", "")))
