"""parse_message on our own sample messages in tests/data/: one file per rule it shows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from propdesk.core.message import InboundMessage, NotTicketReason
from propdesk.mail.parse import parse_message

DATA = Path(__file__).resolve().parents[1] / "data"
OWN = ("maintenance@property.example",)


def parse(name: str, **kwargs: object) -> InboundMessage:
    return parse_message((DATA / name).read_bytes(), own_addresses=OWN, **kwargs)  # type: ignore[arg-type]


def test_fields_of_a_plain_message() -> None:
    msg = parse("reply_outlook_original_message.eml")
    assert msg.message_id == "<reply-outlook@tenant.example>"
    assert msg.sender is not None
    assert msg.sender.address == "ana.ruiz@tenant.example"
    assert msg.sender.name == "Ana Ruiz"
    assert [a.address for a in msg.to] == ["maintenance@property.example"]
    assert msg.subject == "RE: Heating"
    assert msg.date == datetime(2024, 3, 4, 12, 58, 7, tzinfo=UTC)
    assert msg.size == len((DATA / "reply_outlook_original_message.eml").read_bytes())
    assert len(msg.sha256) == 64
    assert msg.header("content-type") == 'text/plain; charset="utf-8"'
    assert msg.not_ticket is None


@pytest.mark.parametrize(
    ("name", "new", "quoted_start"),
    [
        (
            "reply_gmail_wrapped_attribution.eml",
            "The disposal is jammed again, it just hums.\nCould someone come tomorrow?",
            "On Wed, Mar 13, 2024",
        ),
        (
            "reply_outlook_original_message.eml",
            "The radiator in the bedroom is still cold.",
            "-----Original Message-----",
        ),
        ("reply_outlook_header_block.eml", "The window latch broke again.", "_____"),
        (
            "reply_bottom_posted_keeps_text_after_quote.eml",
            "Yes please, and the mailbox key too.",
            "On Tue, Mar 12, 2024",
        ),
        (
            "html_only_blockquote_gmail.eml",
            "The dog upstairs barks all night.\n\nAna",
            "On Mon, Mar 11, 2024",
        ),
    ],
)
def test_quoted_history_is_separated(name: str, new: str, quoted_start: str) -> None:
    msg = parse(name)
    assert msg.new_text == new
    assert msg.quoted_text.startswith(quoted_start)
    assert new.splitlines()[0] in msg.body_text


def test_html_only_outlook_reply_is_readable_text_without_history() -> None:
    msg = parse("html_only_outlook_reply_divrplyfwdmsg.eml")
    assert msg.extra["body_source"] == "html"
    assert "color: red" not in msg.body_text and "alert" not in msg.body_text
    assert msg.new_text.startswith(
        "Hello,\n\nThe hallway light on the 3rd floor is out & it's dark."
    )
    assert "Unit 3B" in msg.new_text
    assert "bulbs" not in msg.new_text
    assert "We changed the bulbs last week." in msg.quoted_text


@pytest.mark.parametrize(
    ("name", "new", "signature"),
    [
        (
            "signature_sent_from_iphone.eml",
            "The toilet keeps running all night in 2A.",
            "Sent from my iPhone",
        ),
        (
            "signature_dash_dash.eml",
            "The fridge is warm, food is spoiling.",
            "--\nAna Ruiz\nAccountant, Example Corp\n555-0100",
        ),
        (
            "signoff_keeps_unit_line.eml",
            "Good morning,\n\nCould you send me the renewal offer?\n\nUnit 14B",
            "Best regards,\nRobert Lang",
        ),
    ],
)
def test_signature_is_separated(name: str, new: str, signature: str) -> None:
    msg = parse(name)
    assert msg.new_text == new
    assert msg.signature == signature


def test_bare_forward_uses_forwarded_text_as_new_text() -> None:
    msg = parse("forward_without_comment.eml")
    assert msg.new_text == "Water is dripping from the ceiling in the bathroom."
    assert msg.quoted_text.startswith("---------- Forwarded message")


@pytest.mark.parametrize(
    ("name", "subject", "text", "defect"),
    [
        (
            "charset_latin1_label_cp1252_body.eml",
            "Fenster",
            "Ich möchte einen Schaden melden: das “Fenster” ist kaputt.",
            None,
        ),
        (
            "charset_latin1_label_utf8_body.eml",
            "Heizung",
            "Die Heizung in der Küche ist kalt.",
            "body is UTF-8",
        ),
        ("charset_gb2312_label_gbk_body.eml", "漏水", "厨房漏水\uff0c堃先生的房间。", None),
        ("charset_ks_c_5601_1987.eml", "누수", "욕실 천장에서 물이 샙니다. 똠", None),
        (
            "charset_unknown_8bit.eml",
            "Door",
            "The door won\u2019t lock \u2014 please help.",
            "utf-8",
        ),
        ("nul_bytes_and_surrogates.eml", "Nul", "Leak under the sink.\n stray", "dropped"),
    ],
)
def test_charset_fallbacks(name: str, subject: str, text: str, defect: str | None) -> None:
    msg = parse(name)
    assert msg.subject == subject
    assert msg.new_text == text
    assert "\ufffd" not in msg.body_text and "\x00" not in msg.body_text
    if defect is not None:
        assert any(defect in d for d in msg.defects), msg.defects


def test_broken_rfc2047_subject_degrades_with_a_defect() -> None:
    msg = parse("charset_broken_rfc2047_subject.eml")
    assert msg.subject.startswith("Heating broken")
    assert any("x-bogus" in d for d in msg.defects)


def test_missing_message_id_gets_a_stable_synthetic_id_and_bad_date_is_none() -> None:
    raw = (DATA / "missing_message_id_and_bad_date.eml").read_bytes()
    first, second = parse_message(raw), parse_message(raw)
    assert first.message_id == second.message_id
    assert first.message_id.endswith("@propdesk.invalid>")
    assert first.message_id[1:33] == first.sha256[:32]
    assert first.date is None
    assert any("Date" in d for d in first.defects)


def test_crlf_is_normalised() -> None:
    msg = parse("crlf_line_endings.eml")
    assert msg.body_text == "Line one.\n\nLine two."


def test_attachments_names_inline_limits_tnef_and_enclosed_message() -> None:
    msg = parse("attachments_names_inline_tnef_big.eml", max_attachment_bytes=2000)
    assert msg.new_text == "See the photo:"
    by_type = {a.content_type: a for a in msg.attachments}
    image = by_type["image/png"]
    assert image.inline and image.content_id == "<img1@x>" and image.content is not None
    assert image.content.startswith(b"\x89PNG")
    pdf = by_type["application/pdf"]
    assert pdf.filename == "Rechnung Küche.pdf"
    assert pdf.size == 3000 and pdf.content is None and pdf.note and "dropped" in pdf.note
    assert len(pdf.sha256) == 64
    assert by_type["image/jpeg"].filename == "Wasserschaden Küche.jpg"
    tnef = by_type["application/ms-tnef"]
    assert tnef.note is not None and "TNEF" in tnef.note
    enclosed = by_type["message/rfc822"]
    assert enclosed.content is not None and b"old body" in enclosed.content
    assert "old body" not in msg.body_text


@pytest.mark.parametrize(
    ("name", "reason", "detail"),
    [
        ("auto_reply_auto_submitted.eml", NotTicketReason.AUTO_REPLY, "Auto-Submitted"),
        ("auto_reply_x_autoreply.eml", NotTicketReason.AUTO_REPLY, "x-autoreply"),
        ("auto_reply_precedence_bulk.eml", NotTicketReason.AUTO_REPLY, "Precedence"),
        (
            "auto_reply_x_auto_response_suppress.eml",
            NotTicketReason.AUTO_REPLY,
            "x-auto-response-suppress",
        ),
        ("list_id.eml", NotTicketReason.MAILING_LIST, "list-id"),
        ("list_unsubscribe.eml", NotTicketReason.MAILING_LIST, "list-unsubscribe"),
        ("spam_flag_yes.eml", NotTicketReason.SPAM, "X-Spam-Flag"),
        ("loop_header.eml", NotTicketReason.LOOP, "x-propdesk-loop"),
        ("from_own_address.eml", NotTicketReason.OWN_ADDRESS, "maintenance@property.example"),
        ("bounce_x_failed_recipients.eml", NotTicketReason.BOUNCE, "X-Failed-Recipients"),
    ],
)
def test_not_a_ticket(name: str, reason: NotTicketReason, detail: str) -> None:
    msg = parse(name)
    assert msg.not_ticket is reason
    assert msg.not_ticket_detail is not None and detail in msg.not_ticket_detail


def test_auto_submitted_no_is_a_ticket() -> None:
    assert parse("auto_submitted_no_is_ticket.eml").not_ticket is None


@pytest.mark.parametrize(
    ("name", "original"),
    [
        ("bounce_dsn_with_rfc822.eml", "<ticket-42-notify@property.example>"),
        ("bounce_dsn_with_rfc822_headers.eml", "<ticket-42-notify@property.example>"),
        ("bounce_plain_in_reply_to_only.eml", "<ticket-7-notify@property.example>"),
    ],
)
def test_bounce_keeps_the_original_message_id(name: str, original: str) -> None:
    msg = parse(name)
    assert msg.not_ticket is NotTicketReason.BOUNCE
    assert msg.bounced_message_id == original
    assert "Your ticket was created" not in msg.body_text


def test_custom_loop_header_name() -> None:
    raw = (DATA / "loop_header.eml").read_bytes().replace(b"X-Propdesk-Loop", b"X-Our-Loop")
    assert parse_message(raw).not_ticket is None
    assert parse_message(raw, loop_header="X-Our-Loop").not_ticket is NotTicketReason.LOOP


@pytest.mark.parametrize(
    ("entry", "blocked"),
    [
        ("ana.ruiz@tenant.example", True),
        ("ANA.RUIZ@tenant.example", True),
        ("@tenant.example", True),
        ("@example", True),
        ("@other.example", False),
        ("someone@tenant.example", False),
    ],
)
def test_block_list_addresses_and_domains(entry: str, blocked: bool) -> None:
    msg = parse("auto_submitted_no_is_ticket.eml", blocked_senders=[entry])
    assert (msg.not_ticket is NotTicketReason.BLOCKED_SENDER) is blocked


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "Outlook .msg"),
        (b"%PDF-1.4\n%...", "PDF"),
        (b"", "empty"),
        (b"\x00\x01\x02\x03" * 100, "binary"),
        (b"just some words\nwithout any header\n", "no RFC 822 header"),
    ],
)
def test_not_rfc822_inputs(raw: bytes, detail: str) -> None:
    msg = parse_message(raw)
    assert msg.not_ticket is NotTicketReason.NOT_RFC822
    assert msg.not_ticket_detail is not None and detail in msg.not_ticket_detail
    assert msg.message_id.endswith("@propdesk.invalid>")


def test_mbox_from_line_is_stripped_with_a_defect() -> None:
    raw = (
        b"From ana@tenant.example Mon Mar  4 07:58:07 2024\n" + (DATA / "list_id.eml").read_bytes()
    )
    msg = parse_message(raw)
    assert msg.subject == "Building news"
    assert any("From " in d for d in msg.defects)


def test_absurd_nesting_falls_back_to_the_stdlib_and_headers_only() -> None:
    levels = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(2000)
    )
    raw = b"From: a@tenant.example\nSubject: deep\nMessage-ID: <deep@t>\n" + levels + b"\nhi\n"
    msg = parse_message(raw)
    assert msg.subject == "deep" and msg.message_id == "<deep@t>"
    assert msg.extra["parser"] == "stdlib"
    assert any("mail-parser failed" in d for d in msg.defects)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"Mon, 4 Mar 2024 07:58:07 EST", datetime(2024, 3, 4, 12, 58, 7, tzinfo=UTC)),
        (b"4 Mar 24 07:58 +0100", datetime(2024, 3, 4, 6, 58, tzinfo=UTC)),
        (b"2024-03-04T07:58:07Z", datetime(2024, 3, 4, 7, 58, 7, tzinfo=UTC)),
        (b"Fri, 31 Dec 9999 23:59:59 -1200", None),
        (b"someday", None),
    ],
)
def test_dates_become_utc_or_none(value: bytes, expected: datetime | None) -> None:
    msg = parse_message(b"From: a@tenant.example\nDate: " + value + b"\nSubject: d\n\nbody\n")
    assert msg.date == expected
    assert msg.date is None or msg.date.tzinfo is UTC
    assert not any(d.startswith("parse failed") for d in msg.defects)


def test_junk_lines_above_the_headers_are_dropped_with_a_defect() -> None:
    raw = b"220 mx.example ESMTP\n-->\nFrom: Ana <ana@tenant.example>\nSubject: Leak\n\nDrip.\n"
    msg = parse_message(raw)
    assert msg.subject == "Leak" and msg.new_text == "Drip."
    assert msg.sender is not None and msg.sender.address == "ana@tenant.example"
    assert any("non-header line" in d for d in msg.defects)


def test_bytes_likes_are_accepted() -> None:
    raw = (DATA / "list_id.eml").read_bytes()
    expected = parse_message(raw)
    assert parse_message(bytearray(raw)) == expected
    assert parse_message(memoryview(raw)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("header", "name"),
    [
        (b"..", "part-3.bin"),
        (b"../../etc/passwd", "etc_passwd"),
        (b"a\\\\b.txt", "a_b.txt"),
        (b"CON.txt", "_CON.txt"),
        (b"lpt9", "_lpt9"),
        (b"nul.tar.gz", "_nul.tar.gz"),
        (b"bill\x07\x1b[31m.pdf", "bill[31m.pdf"),
        (b"..\\..\\boot.ini", "boot.ini"),
        (b"report..pdf", "report.pdf"),
        (b"x" * 300 + b".pdf", "x" * 116 + ".pdf"),
    ],
)
def test_attachment_names_are_never_paths(header: bytes, name: str) -> None:
    raw = (
        b"From: a@tenant.example\nSubject: x\nContent-Type: multipart/mixed; boundary=B\n\n"
        b"--B\nContent-Type: text/plain\n\nhi\n--B\nContent-Type: application/octet-stream\n"
        b'Content-Disposition: attachment; filename="' + header + b'"\n\nxx\n--B--\n'
    )
    (att,) = parse_message(raw).attachments
    assert att.filename == name
    assert "/" not in att.filename and "\\" not in att.filename and ".." not in att.filename
    assert len(att.filename) <= 120
