"""Wiring and transports: config, bootstrap, the Notifier contract, console, Matrix, Telegram."""
