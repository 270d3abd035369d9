"""propdesk: tenants' maintenance emails in, tickets out."""

__version__ = "0.1.0"
