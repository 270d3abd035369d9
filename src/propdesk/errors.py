"""One narrow exception tree: every error propdesk raises on purpose derives from PropdeskError.

Errors that reach a user (config, CLI) carry a message that says what is wrong and how to fix it,
and never a secret.
"""


class PropdeskError(Exception):
    """Base of every error propdesk raises deliberately."""


class ConfigError(PropdeskError):
    """The configuration file or a secret is missing, malformed or invalid."""


class RulesError(PropdeskError):
    """The rules file (default or ops override) is malformed or invalid."""


class ParseError(PropdeskError):
    """Raw bytes could not be turned into an inbound message at all."""


class StoreError(PropdeskError):
    """The database refused or lost an operation in a way the caller must handle."""


class MailboxError(PropdeskError):
    """An IMAP mailbox could not be reached, logged in to or used."""


class MailboxAuthError(MailboxError):
    """The IMAP server refused our login (wrong credentials or token): retrying will not help."""


class DeliveryError(PropdeskError):
    """An outgoing message could not be handed to the SMTP server."""
