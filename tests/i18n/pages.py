"""Reading a page's navigation, title and headings (the text a person reads first) out of its HTML."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# English words allowed in a Chinese page's labels: the brand, format and currency codes.
ALLOWED_WORDS = {"revcast", "API", "CSV", "Excel", "USD"}
WORD = re.compile(r"[A-Za-z]{2,}")


class _Collector(HTMLParser):
    """Text of <title>, the main navigation and of labelling elements (headings, column headers, form labels,
    buttons, summaries). Data shown in them (a deal's name in a heading, a row header, the user menu) is left
    out by the caller's ``skip`` ids and by the element kinds chosen."""

    LABELS = {"h1", "h2", "h3", "dt", "label", "button", "summary"}
    VOID = {"br", "img", "input", "meta", "link", "hr", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.title = ""
        self.nav: list[str] = []
        self.labels: list[tuple[str, str]] = []  # (tag, text)
        self._open: list[tuple[str, list[str]]] = []  # labelling elements being read

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in self.VOID:
            return
        if attributes.get("id") == "user-menu":  # the user's name: data
            attributes["data-skip"] = "1"
        self.stack.append((tag, attributes))
        if self._is_label(tag, attributes):
            self._open.append((tag, []))

    def _is_label(self, tag: str, attributes: dict[str, str | None]) -> bool:
        if attributes.get("data-skip"):
            return False
        return tag in self.LABELS or (tag == "th" and attributes.get("scope") == "col")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        while self.stack:
            open_tag, _attrs = self.stack.pop()
            if self._is_label(open_tag, _attrs):
                name, parts = self._open.pop()
                self.labels.append((name, " ".join("".join(parts).split())))
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        tags = [t for t, _a in self.stack]
        ids = {a.get("id") for _t, a in self.stack}
        classes = " ".join(a.get("class") or "" for _t, a in self.stack)
        if "title" in tags:
            self.title += data
        # The main navigation, without the user menu (the user's name and username are data).
        if "navbar" in classes and "user-menu" not in ids and "dropdown-item-text" not in classes \
                and "select" not in tags:
            self.nav.append(data)
        if self._open and "visually-hidden" not in classes:
            for _name, parts in self._open:
                parts.append(data)


def read(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    return collector


def title(html: str) -> str:
    return " ".join(read(html).title.split())


def nav_text(html: str) -> str:
    return " ".join(" ".join(read(html).nav).split())


def english_words(text: str, allowed: set[str] = ALLOWED_WORDS) -> list[str]:
    return [w for w in WORD.findall(text) if w not in allowed]


def labels(html: str, *, tags: set[str] | None = None) -> list[str]:
    return [text for tag, text in read(html).labels if text and (tags is None or tag in tags)]
