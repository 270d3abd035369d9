"""Integration tests against the real stack (PostgreSQL, Dovecot, aiosmtpd)."""
