"""Schedules: the reminder sweep, the outbox deliverer and the scheduler that runs them."""
