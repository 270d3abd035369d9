"""THROWAWAY dev reader (stdlib email) used only until propdesk.mail.parse lands.

Not a parser for the product: the daemon and `propdesk classify` use propdesk.mail.parse.
"""

from __future__ import annotations

import email
import email.policy
import html
import re
from email.message import EmailMessage

_QUOTE_START = re.compile(
    r"^(?:On .*(?:wrote:|\d{4}.*)$|-{2,}\s*Original Message\s*-{2,}|From: .*|>.*)$", re.I
)


def read(path: str) -> tuple[str, str, str, str | None]:
    """(subject, new_text, signature, not_ticket) of one .eml file."""
    with open(path, "rb") as fh:
        msg = email.message_from_bytes(fh.read(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(("plain", "html"))
    text = part.get_content() if part is not None else ""
    if part is not None and part.get_content_type() == "text/html":
        text = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<br\s*/?>|</p>", "\n", text)))
    subject = str(msg.get("subject", ""))
    not_ticket = None
    if re.match(r"^(automatic reply|auto.?reply|out of (the )?office)", subject, re.I) or (
        msg.get("auto-submitted", "no").lower() != "no"
    ):
        not_ticket = "auto_reply"
    lines = text.splitlines()
    new: list[str] = []
    sig: list[str] = []
    in_sig = False
    for line in lines:
        if _QUOTE_START.match(line.strip()) and line.strip():
            break
        if line.rstrip() == "--" or line.startswith("-- "):
            in_sig = True
            continue
        if re.match(r"^\s*Sent from my", line):
            continue
        (sig if in_sig else new).append(line)
    return subject, "\n".join(new).strip(), "\n".join(sig).strip(), not_ticket
