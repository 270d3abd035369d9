"""Notifications: which events mail whom, the outbox hooks, and outbox delivery over SMTP."""
