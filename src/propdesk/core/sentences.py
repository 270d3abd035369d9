"""Cut a text into sentences, grouped in blocks (paragraphs and list entries).

Hard line-wraps are joined; a list marker ("- ", "1.", "a)") starts a block of its own, because
a tenant's list names one matter per entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LIST_MARKER_RE = re.compile(r"^\s*(?:[-*\u2022\u25cf]|\(?\d{1,2}[.)]|[a-z][.)])\s+")
_WORD_RE = re.compile(r"\S+")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Za-z0-9\"'(])|(?<=[a-z]):\s+")


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence and the block (paragraph or list entry) it belongs to."""

    text: str
    block: int
    in_list: bool  # the block is a list entry ("- ...", "1. ...")
    list_start: bool  # first sentence of a list entry


def chunks(piece: str, max_words: int) -> list[str]:
    """``piece`` cut before every ``max_words``-th word (the text between is kept as written).

    Why: a "sentence" is read as a whole, and halves of it again and again while the clause
    splitter joins them; a run of thousands of words with no full stop would cost its square.
    Real sentences are far shorter than the bound (``[thresholds] max_sentence_words``).
    """
    starts = [m.start() for m in _WORD_RE.finditer(piece)][::max_words]
    if len(starts) <= 1:
        return [piece]
    ends = [*starts[1:], len(piece)]
    return [piece[a:b].strip() for a, b in zip(starts, ends, strict=True)]


def split_sentences(text: str, max_words: int | None = None) -> list[Sentence]:
    """Sentences of ``text``; hard line-wraps are joined, paragraphs and list entries are blocks.

    ``max_words``: a longer sentence is cut into chunks of that many words (see ``chunks``).
    """
    out: list[Sentence] = []
    para: list[str] = []
    para_list = False
    block = 0

    def flush() -> None:
        nonlocal para, para_list, block
        if para:
            joined = " ".join(para)
            pieces = [p.strip() for p in _SENTENCE_END_RE.split(joined) if p.strip()]
            if max_words is not None:
                pieces = [c for p in pieces for c in chunks(p, max_words)]
            for i, piece in enumerate(pieces):
                out.append(Sentence(piece, block, para_list, para_list and i == 0))
            block += 1
        para = []
        para_list = False

    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            flush()
            continue
        marker = _LIST_MARKER_RE.match(stripped)
        if marker:
            flush()
            para_list = True
            stripped = stripped[marker.end() :]
        para.append(stripped)
    flush()
    return out
