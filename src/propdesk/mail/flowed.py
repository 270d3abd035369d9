"""RFC 3676 ``format=flowed`` plain text -> its logical lines.

Flowed mail wraps paragraphs with soft breaks (a line ending in a space); the classifier splits
items by lines and sentences, so soft breaks are joined back and only hard breaks remain.
"""

from __future__ import annotations


def _prefix(depth: int) -> str:
    return ">" * depth + " " if depth else ""


def unflow(text: str, *, delsp: bool = False) -> str:
    """Join soft line breaks (per quote depth), undo space-stuffing; ``-- `` stays a hard line."""
    out: list[str] = []
    pending: str | None = None  # an open flowed paragraph
    pending_depth = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing (or the space after quote markers)
        soft = content.endswith(" ") and content != "-- "
        if soft and delsp and content.endswith("  "):
            # Deviation from RFC 3676: DelSp=yes deletes the space before a soft break, but
            # senders set it and still break at a word gap ("there is" / "a ..." -> "isa"),
            # so only a doubled space is taken as the added one. A stray space is harmless.
            content = content[:-1]
        if pending is not None:
            if depth == pending_depth:
                content = pending + content
            else:
                out.append(_prefix(pending_depth) + pending)
            pending = None
        if soft:
            pending, pending_depth = content, depth
        else:
            out.append(_prefix(depth) + content)
    if pending is not None:
        out.append(_prefix(pending_depth) + pending)
    return "\n".join(out)
