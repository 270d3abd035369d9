"""The pure core: models and rules with no I/O. Imports only the stdlib and its own modules."""
