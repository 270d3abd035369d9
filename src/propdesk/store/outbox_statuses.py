"""The outbox's row statuses (the ``status`` column of ``tables_outbox``), in a module of their
own so the CLI can offer them as choices without importing SQLAlchemy."""

OUTBOX_STATUSES = ("pending", "sent", "dead", "suppressed", "bounced")
