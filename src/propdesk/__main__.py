"""Allow ``python -m propdesk``."""

from propdesk.cli import main

# guarded: a worker process of the analysis pool must be able to import the main module quietly
if __name__ == "__main__":
    raise SystemExit(main())
