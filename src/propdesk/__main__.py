"""Allow ``python -m propdesk``."""

from propdesk.cli import main

raise SystemExit(main())
