"""Turn bytes in a declared (often wrong) charset into clean text, recording what was guessed.

Real mail lies about its charset: "iso-8859-1" that is windows-1252 or UTF-8, "gb2312" that is
GBK, "ks_c_5601-1987" (Microsoft's name for cp949), "unknown-8bit", names Python does not know.
Decoding never fails here: it falls back step by step and says so in a defect, so a ticket is
made from slightly wrong text rather than not at all. The result is also safe for PostgreSQL
``text`` (no NUL, no lone surrogates).
"""

from __future__ import annotations

import codecs
import re
from email.header import decode_header

# Declared name -> the codec that actually decodes what senders produce under that name.
# Each target is a superset of the declared charset, so correct input decodes identically.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "iso-8859-1": "cp1252",  # WHATWG: browsers decode latin-1 labels as windows-1252
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso_8859-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
    "shift_jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "big5": "big5hkscs",
    "unicode-1-1-utf-7": "utf-7",
    "utf7": "utf-7",
    "x-unknown": "",
    "unknown-8bit": "",
    "unknown": "",
    "x-user-defined": "",
    "default": "",
    "charset": "",
}

# Codecs that are not text encodings (base64_codec, rot13, ...) must never be applied to a body.
_TEXT_CODEC_BLOCKLIST = {"base64", "hex", "zlib", "bz2", "quopri", "uu", "rot-13", "rot13"}

_FEW_BAD_BYTES = 8
_ENCODED_SURROGATE = re.compile(rb"\xed[\xa0-\xbf][\x80-\xbf]")  # CESU-8 / WTF-8 leftovers
_NON_ASCII_TEXT = re.compile(r"[^\x00-\x7f\ud800-\udfff]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_BAD_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
# Other line boundaries (str.splitlines honours them, our line logic splits on LF only).
_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\u2028\u2029]")


def clean_text(text: str) -> str:
    """Drop what PostgreSQL ``text`` refuses (NUL, lone surrogates), stray controls; LF, no NBSP."""
    text = _LINE_BREAKS.sub("\n", text).replace("\u00a0", " ")
    text = _SURROGATES.sub("", text)
    return _BAD_CONTROLS.sub("", text)


def _codec_for(declared: str | None) -> str | None:
    """The codec to try first for a declared charset; None when unknown/absent."""
    if not declared:
        return None
    name = declared.strip().strip("\"'").lower()
    if name in _SUPERSETS:
        return _SUPERSETS[name] or None
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        return None
    if info.name in _TEXT_CODEC_BLOCKLIST or not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def _mostly_utf8(data: bytes, defects: list[str], *, declared_known: bool) -> str | None:
    """UTF-8 with a few broken sequences: drop those bytes instead of mis-decoding it all.

    surrogateescape turns each bad byte into a lone surrogate, which clean_text removes.
    """
    text = data.decode("utf-8", "surrogateescape")
    bad = len(_SURROGATES.findall(text))
    if bad > max(_FEW_BAD_BYTES, len(data) // 100):
        return None
    if bad and not _NON_ASCII_TEXT.search(text) and not _ENCODED_SURROGATE.search(data):
        return None  # no valid multi-byte sequence at all: an 8-bit charset, not UTF-8
    if bad:
        defects.append(f"{bad} invalid UTF-8 bytes dropped")
    elif not declared_known:
        defects.append("decoded as utf-8")
    return clean_text(text)


def decode_bytes(data: bytes, declared: str | None) -> tuple[str, list[str]]:
    """Decode ``data`` labelled ``declared``; returns (clean text, defects).

    Order: the declared charset (or its superset) strictly; if that fails or is unknown,
    UTF-8, then windows-1252, then latin-1 (which cannot fail).
    """
    defects: list[str] = []
    codec = _codec_for(declared)
    if declared and codec is None:
        name = declared.strip().lower()
        if name not in _SUPERSETS:
            defects.append(f"unknown charset {declared!r}; guessed")
    if codec == "cp1252" and not data.isascii():
        # Mislabelled UTF-8 is the commonest lie: latin-1 text is almost never valid UTF-8.
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            defects.append(f"declared {declared!r} but the body is UTF-8")
            return clean_text(text), defects
    if codec is not None:
        try:
            return clean_text(data.decode(codec)), defects
        except (UnicodeError, LookupError):
            defects.append(f"body is not valid {declared!r}; guessed")
    elif data.isascii():
        return clean_text(data.decode("ascii")), defects
    if codec in (None, "utf-8"):
        tolerant = _mostly_utf8(data, defects, declared_known=codec is not None)
        if tolerant is not None:
            return tolerant, defects
    for fallback in ("utf-8", "cp1252"):
        try:
            text = data.decode(fallback)
        except UnicodeDecodeError:
            continue
        defects.append(f"decoded as {fallback}")
        return clean_text(text), defects
    defects.append("decoded as latin-1")
    return clean_text(data.decode("latin-1")), defects


def raw_header_text(value: str) -> tuple[str, list[str]]:
    """A compat32 raw header value (8-bit bytes smuggled as surrogates) as real text."""
    if value.isascii():
        return value, []
    try:
        data = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return clean_text(value), []
    text, defects = decode_bytes(data, "utf-8")
    return text, [f"8-bit header: {d}" for d in defects] if defects else ["8-bit header"]


_WS = re.compile(r"\s+")
_HEADER_NEEDS_WORK = re.compile(r"[\x00-\x1f\x7f]|\s\s")  # folding, controls, runs of space


def decode_header_value(value: str) -> tuple[str, list[str]]:
    """Unfold and RFC 2047-decode one header value, never raising; returns (text, defects)."""
    if value.isascii() and "=?" not in value and not _HEADER_NEEDS_WORK.search(value):
        return value.strip(), []  # the common case: plain, unfolded ASCII
    text, defects = raw_header_text(value)
    if "=?" not in text:
        return clean_text(_WS.sub(" ", text)).strip(), defects
    try:
        chunks = decode_header(text)
    except Exception as exc:  # a broken encoded-word must not lose the header
        defects.append(f"broken RFC 2047 header: {type(exc).__name__}")
        return clean_text(_WS.sub(" ", text)).strip(), defects
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        part, part_defects = decode_bytes(chunk, charset)
        out.append(part)
        defects.extend(f"header: {d}" for d in part_defects)
    return clean_text(_WS.sub(" ", "".join(out))).strip(), defects
