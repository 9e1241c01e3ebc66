"""The installed program's version, read without loading the rest of the program."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def program_version() -> str:
    try:
        return version("regelkreis")
    except PackageNotFoundError:  # pragma: no cover - running from a tree without install
        return "unknown (not installed)"
