"""The Simplified Chinese catalogue is complete, well-formed, compiled, and covers every string of the code."""

from __future__ import annotations

import gettext
import re

import pytest

from tests.i18n import support
from tests.i18n.support import MO_FILE, PO_FILE, Entry, catalogue, code_strings, placeholders


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return catalogue()


def test_header_declares_chinese_without_plurals(entries):
    header = entries[0]
    assert header.msgid == "" and header.msgctxt is None
    assert "fuzzy" not in header.flags
    fields = dict(line.split(": ", 1) for line in header.msgstr[0].splitlines() if ": " in line)
    assert fields["Language"] == "zh_Hans"
    assert fields["Content-Type"] == "text/plain; charset=UTF-8"
    assert fields["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"


def test_every_entry_is_translated_and_none_is_fuzzy(entries):
    messages = entries[1:]
    assert len(messages) > 300  # the whole UI: a parser that read nothing must not pass
    untranslated = [e.msgid for e in messages if not e.msgstr or any(not s.strip() for s in e.msgstr)]
    fuzzy = [e.msgid for e in messages if "fuzzy" in e.flags]
    assert untranslated == []
    assert fuzzy == []
    # Chinese has one plural form: exactly one msgstr[0] per plural entry.
    assert [e.msgid for e in messages if e.msgid_plural is not None and len(e.msgstr) != 1] == []
    assert not [e for e in parse_all() if e.obsolete], "obsolete (#~) entries: run makemessages --no-obsolete"


def parse_all() -> list[Entry]:
    return support.parse_po(PO_FILE.read_text(encoding="utf-8"))


def test_translations_are_chinese(entries):
    # Brand and format names stay as they are; every other message has Chinese in it.
    same = {"API", "CSV", "Excel"}
    english = [e.msgid for e in entries[1:] if e.msgid not in same
               and re.search("[A-Za-z]", support.PLACEHOLDER.sub("", e.msgid))  # not only punctuation
               and not any("\u4e00" <= ch <= "\u9fff" for s in e.msgstr for ch in s)]
    assert english == []


def test_placeholders_are_kept(entries):
    wrong = []
    for e in entries[1:]:
        wanted = placeholders(e.msgid_plural if e.msgid_plural is not None else e.msgid)
        for text in e.msgstr:
            if placeholders(text) != wanted:
                wrong.append((e.msgid, text))
    assert wrong == []


def test_the_compiled_catalogue_holds_the_same_translations(entries):
    """The committed .mo (what the runtime reads) is the compiled .po: the same msgid -> msgstr pairs."""
    with MO_FILE.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    expected: dict[object, str] = {}
    for e in entries[1:]:
        msgid = e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}"
        if e.msgid_plural is None:
            expected[msgid] = e.msgstr[0]
        else:
            for index, text in enumerate(e.msgstr):
                expected[(msgid, index)] = text
    got = {k: v for k, v in compiled._catalog.items() if k != ""}  # "" is the header
    assert got == expected
    assert compiled.plural(5) == 0 and compiled.plural(1) == 0


def test_the_catalogue_covers_every_string_of_the_code(entries):
    """Every literal passed to a gettext function or to {% translate %} / {% blocktranslate %} under
    src/revcast (as makemessages extracts them) is a msgid of the catalogue: a new string that nobody
    translated fails here. Fix: run makemessages, translate, compile (docs/development/internationalization.md)."""
    in_catalogue = {e.key: e for e in entries}
    used = code_strings()
    assert len(used) > 300
    missing = sorted(
        (f"{ctx}|{msgid}" if ctx else msgid, files) for (ctx, msgid, _plural), files in used.items()
        if (ctx, msgid) not in in_catalogue
    )
    assert missing == []
    wrong_plural = sorted(
        msgid for (ctx, msgid, plural), _files in used.items()
        if (ctx, msgid) in in_catalogue and in_catalogue[(ctx, msgid)].msgid_plural != plural
    )
    assert wrong_plural == []
    # And nothing stale: every msgid is still used somewhere.
    used_keys = {(ctx, msgid) for ctx, msgid, _plural in used}
    assert sorted(str(k) for k in in_catalogue if k != (None, "") and k not in used_keys) == []


def test_the_extractor_finds_every_kind_of_marking():
    """The extractor of the coverage test itself: a check that finds nothing must not pass."""
    python = '''
from django.utils.translation import gettext_lazy as _, pgettext_lazy, ngettext, gettext_noop
A = _("Plain")
B = pgettext_lazy("ctx", "With context")
C = ngettext("%(n)s deal", "%(n)s deals", 2)
D = gettext_noop("Marked " "only")
E = _(name)           # not a literal: makemessages cannot extract it either
F = f"{_('Inside an f-string')}"
'''
    assert support.python_strings(python) == {
        (None, "Plain", None), ("ctx", "With context", None), (None, "%(n)s deal", "%(n)s deals"),
        (None, "Marked only", None),
    }
    template = (
        '{% load i18n %}{% translate "Title" %}<b title="{% translate \'Quoted\' %}">'
        '{% translate "Admin" context "navigation" %}{% translate "It\'s" as word %}'
        "{% blocktranslate with name=user %}Hello {{ name }}{% endblocktranslate %}"
        "{% blocktranslate count counter=n %}{{ counter }} deal{% plural %}{{ counter }} deals{% endblocktranslate %}"
    )
    assert support.template_strings(template) == {
        (None, "Title", None), (None, "Quoted", None), ("navigation", "Admin", None), (None, "It's", None),
        (None, "Hello %(name)s", None), (None, "%(counter)s deal", "%(counter)s deals"),
    }


def test_the_parser_reads_contexts_plurals_and_continued_lines():
    text = '''msgid ""
msgstr ""
"Language: zh_Hans\\n"

#, python-format
msgctxt "result count"
msgid "%(n)s deal"
msgid_plural "%(n)s deals"
msgstr[0] "%(n)s 个商机"

msgid "A long "
"line with a \\"quote\\""
msgstr "很长"
"的一行"

#, fuzzy
#~ msgid "Old"
#~ msgstr "旧"
'''
    header, plural, long, old = support.parse_po(text)
    assert header.msgstr == ["Language: zh_Hans\n"]
    assert (plural.msgctxt, plural.msgid, plural.msgid_plural, plural.msgstr) == (
        "result count", "%(n)s deal", "%(n)s deals", ["%(n)s 个商机"])
    assert plural.flags == {"python-format"}
    assert (long.msgid, long.msgstr) == ('A long line with a "quote"', ["很长的一行"])
    assert old.obsolete and old.flags == {"fuzzy"}
