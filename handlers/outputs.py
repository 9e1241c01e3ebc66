"""Generated files (reports, charts, exports): one folder under data_dir, each file named by
its kind and date, pruned once it is older than the configured time."""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from pathlib import Path

GENERATED = "generated"


def write_generated(
    data_dir: Path, kind: str, extension: str, data: bytes, now: datetime, *, keep_days: int
) -> Path:
    """`data_dir/generated/<kind>-<YYYY-MM-DD>-<HHMMSS>-<random>.<extension>`; older files of
    any kind are pruned first. The random part keeps two files of one second apart."""
    root = data_dir / GENERATED
    prune_generated(root, keep_days)
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{kind}-{now:%Y-%m-%d-%H%M%S}-{secrets.token_hex(3)}.{extension}"
    path.write_bytes(data)
    return path


def prune_generated(root: Path, keep_days: int) -> int:
    """Removes generated files older than `keep_days`; returns how many."""
    if not root.is_dir():
        return 0
    # File times are the file system's: compared with the wall clock, not the app's clock.
    oldest = time.time() - keep_days * 86400
    removed = 0
    for path in root.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < oldest:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed
