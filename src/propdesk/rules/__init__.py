"""Default rules shipped as data; loaded and validated by ``propdesk.core.rules``."""
