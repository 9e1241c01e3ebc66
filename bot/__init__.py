"""Wiring and transports: configuration, bootstrap, the Notifier contract, console/Matrix/Telegram."""
