"""Mail adapters: IMAP (imapclient), parsing (mail-parser), SMTP, templates."""
