"""HTML mail body -> readable plain text (stdlib ``html.parser``, never raises).

Block elements become line breaks and paragraphs so the classifier can still split items;
``style``/``script``/``head`` are dropped; entities are decoded. Quoted history is made visible
to the plain-text quote splitter: ``<blockquote>`` lines get a ``> `` prefix, and the Outlook
reply header (``divRplyFwdMsg``) and Gmail/Yahoo/Apple quote containers start on a fresh line.
"""

from __future__ import annotations

import contextlib
import re
from html.parser import HTMLParser

_SKIP = frozenset({"style", "script", "head", "title", "noscript", "template", "xml"})
_VOID_SKIP = frozenset({"meta", "link"})
_BLOCK = frozenset(
    {
        "address", "article", "aside", "center", "dd", "div", "dl", "dt", "fieldset",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
        "header", "li", "main", "nav", "ol", "section", "table", "tbody", "thead", "tfoot",
        "tr", "ul", "pre",
    }
)  # fmt: skip
_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre"})
# Containers mail clients wrap quoted history in (the text splitter recognises what follows).
_QUOTE_CONTAINERS = (
    "gmail_quote",
    "divrplyfwdmsg",
    "yahoo_quoted",
    "moz-cite-prefix",
    "appendonsend",
)

_MAX_QUOTE_PREFIX = 8  # deeper nesting adds nothing readable, only bytes
_SPACES = re.compile(r"[ \t\u00a0\u200b\ufeff]+")
_MANY_BLANK = re.compile(r"\n{3,}")


class _TextExtractor(HTMLParser):
    """Collects text. Block boundaries *ensure* line breaks (consecutive ``</div><div>`` give
    one break, not two); ``<br>`` always adds one. Skipped elements and blockquotes nest."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.trail = 0  # newlines at the end of the output so far
        self.started = False  # no breaks before the first text
        self.skip = 0
        self.quote = 0
        self.pre = 0
        self.p_breaks: list[int] = []  # per open <p>: 1 for Outlook's line-per-<p>, else 2

    def _break(self, count: int) -> None:
        """Ensure the output ends with at least ``count`` newlines."""
        if self.started and self.trail < count:
            self.out.append("\n" * (count - self.trail))
            self.trail = count

    def _br(self) -> None:
        self.out.append("\n")
        self.trail += 1
        self.started = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID_SKIP:
            return
        if tag in _SKIP:
            self.skip += 1
            return
        marker = " ".join(v or "" for k, v in attrs if k in ("id", "class")).lower()
        if tag == "br":
            self._br()
        elif tag == "hr":
            self._break(2)
        elif tag == "blockquote":
            self._break(1)
            self.quote += 1
        elif tag == "p":
            # Outlook writes every line as <p class=MsoNormal>: a line, not a paragraph.
            self.p_breaks.append(1 if "msonormal" in marker else 2)
            self._break(self.p_breaks[-1])
        elif tag in _BLOCK:
            self._break(2 if tag in _PARAGRAPH else 1)
            if tag == "pre":
                self.pre += 1
        elif tag in ("td", "th"):
            self.out.append(" ")
        if any(name in marker for name in _QUOTE_CONTAINERS):
            self._break(2)
        if tag == "img":
            alt = next((v for k, v in attrs if k == "alt" and v), "")
            if alt:
                self.handle_data(f"[{alt}]")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in _SKIP or tag in ("p", "blockquote"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if tag == "blockquote":
            self.quote = max(0, self.quote - 1)
            self._break(1)
        elif tag == "p":
            self._break(self.p_breaks.pop() if self.p_breaks else 2)
        elif tag in _BLOCK:
            self._break(2 if tag in _PARAGRAPH else 1)
            if tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if not self.pre:
            data = data.replace("\r", " ").replace("\n", " ")
            if not data.strip(" \t\f"):
                # Source formatting between tags: a space at most, and not a line's content.
                if self.trail == 0 and self.started:
                    self.out.append(" ")
                return
        if self.quote:
            # The "> " prefix is applied per output line in _finish; mark with a sentinel.
            data = f"\x00Q{self.quote}\x00{data}"
        self.out.append(data)
        self.started = True
        self.trail = data.count("\n") if data.endswith("\n") else 0


_QUOTE_MARK = re.compile(r"\x00Q(\d+)\x00")


def _finish(raw: str) -> str:
    """Normalise spaces, apply blockquote prefixes per line, collapse blank runs."""
    lines: list[str] = []
    for raw_line in raw.split("\n"):
        match = _QUOTE_MARK.search(raw_line)
        depth = int(match.group(1)) if match else 0
        line = _SPACES.sub(" ", _QUOTE_MARK.sub("", raw_line)).strip()
        lines.append("> " * min(depth, _MAX_QUOTE_PREFIX) + line if depth and line else line)
    text = "\n".join(lines)
    return _MANY_BLANK.sub("\n\n", text).strip()


def html_to_text(html: str) -> str:
    """Readable text of an HTML body; best effort on broken markup, never raises."""
    parser = _TextExtractor()
    # html.parser can still trip on pathological input; what was collected is still useful.
    with contextlib.suppress(Exception):
        parser.feed(html.replace("\x00", ""))
        parser.close()
    return _finish("".join(parser.out))
