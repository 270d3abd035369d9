"""propdesk's tests; a package so that ``tests.stack`` is importable (``python -m tests.stack``)."""
