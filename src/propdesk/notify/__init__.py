"""Notifications: the ingest hooks that queue outbox rows, and outbox delivery over SMTP.

Who is mailed for which event is the core's (``propdesk.core.notifications``); the rows are the
store's (``propdesk.store.outbox``).
"""
