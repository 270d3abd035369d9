"""Render the corpus' JSON Lines sources into a scorer-ready folder: ``emails/*.eml`` (RFC 5322,
in the shapes the writers asked for: plain, quoted-printable, HTML-only, multipart/alternative,
a forward attached as message/rfc822), ``labels.json`` (the shared scorer's format) and
``clauses.json`` (the per-clause roles of every email that has them).

    python corpus/build.py OUT_DIR corpus/train/*.jsonl

Deterministic: the same sources give byte-identical files, so a built set can be hashed.
"""

from __future__ import annotations

import hashlib
import html
import json
import sys
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parsedate_to_datetime
from pathlib import Path
from typing import Any

TO = "Maintenance <maintenance@property.example>"


def _html(text: str) -> str:
    """Plain text as a mail client's HTML: paragraphs, line breaks, quoted lines in a blockquote."""
    out: list[str] = []
    quoted: list[str] = []

    def flush_quote() -> None:
        if quoted:
            inner = "<br>\n".join(html.escape(q.lstrip("> ").rstrip()) for q in quoted)
            style = "border-left:1px solid #ccc;padding-left:1ex"
            out.append(f'<blockquote style="{style}">{inner}</blockquote>')
            quoted.clear()

    for para in text.split("\n\n"):
        lines = para.split("\n")
        plain: list[str] = []
        for line in lines:
            if line.lstrip().startswith(">"):
                if plain:
                    out.append("<p>" + "<br>\n".join(html.escape(p) for p in plain) + "</p>")
                    plain = []
                quoted.append(line)
            else:
                flush_quote()
                plain.append(line)
        flush_quote()
        if plain:
            out.append("<p>" + "<br>\n".join(html.escape(p) for p in plain) + "</p>")
    body = "\n".join(out)
    head = '<html><head><meta charset="utf-8"></head>'
    return f'{head}<body><div dir="ltr">{body}</div></body></html>\n'


def _text_part(msg: EmailMessage, body: str, fmt: str) -> None:
    if fmt == "html":
        msg.set_content(_html(body), subtype="html", charset="utf-8", cte="quoted-printable")
    elif fmt == "multipart":
        msg.set_content(body, charset="utf-8", cte="quoted-printable")
        msg.add_alternative(_html(body), subtype="html", charset="utf-8", cte="quoted-printable")
    elif fmt == "qp":
        msg.set_content(body, charset="utf-8", cte="quoted-printable")
    else:
        msg.set_content(body, charset="utf-8", cte="8bit")


def _date(when: str) -> str:
    """A Date header from ISO 8601 or an RFC 5322 date as the writer gave it."""
    try:
        return format_datetime(datetime.fromisoformat(when))
    except ValueError:
        return format_datetime(parsedate_to_datetime(when))


def _headers(msg: EmailMessage, frm: str, subject: str, when: str, mid: str) -> None:
    msg["From"] = frm
    msg["To"] = TO
    msg["Subject"] = subject
    msg["Date"] = _date(when)
    msg["Message-ID"] = mid
    msg["MIME-Version"] = "1.0"


def render(rec: dict[str, Any]) -> bytes:
    """One writer record as the bytes of an email."""
    digest = hashlib.sha256(json.dumps(rec, sort_keys=True).encode()).hexdigest()[:16]
    domain = rec["from_email"].rsplit("@", 1)[-1]
    msg = EmailMessage(policy=policy.SMTP)
    _headers(
        msg,
        formataddr((rec["from_name"], rec["from_email"])),
        rec["subject"],
        rec.get("date") or "2025-01-06T09:00:00+00:00",
        f"<{rec['id'].lower()}.{digest}@{domain}>",
    )
    fwd = rec.get("forward_attached")
    _text_part(msg, rec["body"], rec["format"])
    if fwd:
        inner = EmailMessage(policy=policy.SMTP)
        _headers(
            inner,
            fwd.get("from") or rec["from_email"],
            fwd.get("subject") or "",
            fwd.get("date") or rec.get("date") or "2025-01-06T09:00:00+00:00",
            f"<fwd.{rec['id'].lower()}.{digest}@{domain}>",
        )
        inner.set_content(fwd.get("body") or "", charset="utf-8", cte="quoted-printable")
        if msg.get_content_type() != "multipart/mixed":
            msg.make_mixed()
        msg.add_attachment(inner)
    for i, part in enumerate(p for p in msg.walk() if p.is_multipart()):
        part.set_boundary(f"=_{digest}_{i}")  # fixed, not random: the same record, the same bytes
    return msg.as_bytes()


def load(paths: list[str]) -> list[dict[str, Any]]:
    """All records of the given JSON Lines files, in file then line order."""
    records: list[dict[str, Any]] = []
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                records.append(json.loads(line))
    return records


def build(out: Path, paths: list[str]) -> int:
    """Write emails/, labels.json and clauses.json under ``out``; returns the email count."""
    emails = out / "emails"
    emails.mkdir(parents=True, exist_ok=True)
    labels: dict[str, Any] = {}
    clauses: dict[str, Any] = {}
    for rec in load(paths):
        name = f"{rec['id']}.eml"
        (emails / name).write_bytes(render(rec))
        labels[name] = rec["labels"]
        if rec.get("clauses"):
            clauses[name] = rec["clauses"]
    (out / "labels.json").write_text(json.dumps(labels, indent=1, sort_keys=True), "utf-8")
    (out / "clauses.json").write_text(json.dumps(clauses, indent=1, sort_keys=True), "utf-8")
    return len(labels)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    print(build(Path(sys.argv[1]), sys.argv[2:]), "emails")
