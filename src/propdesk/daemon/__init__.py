"""The long-running loop: polling, periodic passes, signals, metrics."""
