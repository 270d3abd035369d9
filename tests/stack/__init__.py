"""The real test stack: PostgreSQL, Dovecot and an aiosmtpd peer, as plain classes.

The pytest fixtures in ``tests/conftest.py`` and the demo (``python -m tests.stack``, used by
``deploy/dev/demo.sh``) both start the stack through these classes: one implementation.
"""

from ._util import free_port, wait_for_port
from .dovecot import Dovecot, ImapUser, StoredMessage
from .postgres import (
    ThrowawayCluster,
    create_database,
    database_exists,
    drop_database,
    server_answers,
    start_shared_server,
    truncate_all,
    use_shared_server,
)
from .smtp_peer import ReceivedMail, SmtpPeer

__all__ = [
    "Dovecot",
    "ImapUser",
    "ReceivedMail",
    "SmtpPeer",
    "StoredMessage",
    "ThrowawayCluster",
    "create_database",
    "database_exists",
    "drop_database",
    "free_port",
    "server_answers",
    "start_shared_server",
    "truncate_all",
    "use_shared_server",
    "wait_for_port",
]
