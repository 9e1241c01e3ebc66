"""Schedules: delivering the outbox (and, with the reminders issue, the reminder sweep)."""
