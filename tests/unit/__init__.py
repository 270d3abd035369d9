"""Pure unit tests: no services, no network."""
