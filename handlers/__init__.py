"""Handlers: the command set, its parsing and its replies, independent of any chat platform."""
