"""Attachment names we can store and later write to any file system without surprises.

A name is sender-controlled: ``../../etc/passwd``, ``a\\b``, ``CON.txt`` or control characters
must never become a path, a device or a terminal escape when staff save the file. The stored name
is made safe here; the name as sent is kept only as display text (one line, bounded).
"""

from __future__ import annotations

import re

from propdesk.mail.header_limits import one_line

#: Windows device names, reserved with any extension ("CON.txt" opens the console).
_RESERVED = re.compile(r"^(?:con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(?:\..*)?$", re.IGNORECASE)
#: Path separators, characters Windows refuses, and every control character.
_UNSAFE = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f-\x9f\u2028\u2029]')
_DOTS = re.compile(r"\.{2,}")
_UNDERSCORES = re.compile(r"_{2,}")
DEFAULT_NAME_CHARS = 120
DISPLAY_CHARS = 255


def safe_filename(name: str, limit: int = DEFAULT_NAME_CHARS) -> str:
    """``name`` as a plain file name: no separators, ``..``, controls or device names; at most
    ``limit`` characters (the extension kept). "" when nothing usable is left."""
    text = _UNSAFE.sub("_", name)
    text = _DOTS.sub(".", text)
    text = _UNDERSCORES.sub("_", text).strip(" ._")  # no hidden files, no trailing dot (Windows)
    if not text.strip("_"):
        return ""
    if _RESERVED.match(text) or _RESERVED.match(text.split(".", 1)[0]):
        text = f"_{text}"
    if len(text) > limit:
        stem, dot, ext = text.rpartition(".")
        if dot and 0 < len(ext) <= 10 and stem:
            text = f"{stem[: limit - len(ext) - 1].rstrip(' .')}.{ext}"
        else:
            text = text[:limit].rstrip(" .")
    return text


def display_filename(name: str) -> str:
    """The name as sent, for display only: one line, bounded."""
    return one_line(name, DISPLAY_CHARS)
