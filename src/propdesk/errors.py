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


class AnalysisError(PropdeskError):
    """Parse + analysis of one message failed in its worker; ``reason`` is the quarantine reason."""

    reason = "processing_error"


class AnalysisTimeout(AnalysisError):
    """Parse + analysis ran past the per-message time budget; the worker was killed."""

    reason = "timeout"


class AnalysisPoisoned(AnalysisError):
    """The message was in flight through too many worker deaths to be tried again."""

    reason = "poison"


class AnalysisStopped(PropdeskError):
    """A stop was requested while the message was being analysed: it is read again later."""
