"""Generated files: one folder under data_dir, named by kind and date, pruned after the
configured number of days."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

from handlers.outputs import GENERATED, write_generated


def test_a_file_is_named_by_kind_and_date_and_old_ones_are_pruned(tmp_path: Path) -> None:
    now = datetime(2026, 12, 4, 10, 15, 0)
    old = write_generated(tmp_path, "bericht", "pdf", b"%PDF-old", now, keep_days=7)
    # Eight days old by the file system's clock, which pruning goes by.
    eight_days_ago = time.time() - 8 * 86400
    os.utime(old, (eight_days_ago, eight_days_ago))
    kept = write_generated(tmp_path, "diagramm", "png", b"png", now, keep_days=30)
    assert kept.exists() and old.exists()  # 30 days kept it

    new = write_generated(tmp_path, "bericht", "pdf", b"%PDF-new", now, keep_days=7)

    assert new.parent == tmp_path / GENERATED
    assert new.name.startswith("bericht-2026-12-04-101500-") and new.suffix == ".pdf"
    assert new.read_bytes() == b"%PDF-new"
    assert not old.exists()
    assert kept.exists()
    assert sorted(p.name.split("-")[0] for p in (tmp_path / GENERATED).iterdir()) == [
        "bericht",
        "diagramm",
    ]


def test_two_files_of_one_second_do_not_overwrite_each_other(tmp_path: Path) -> None:
    now = datetime(2026, 12, 4, 10, 15, 0)
    first = write_generated(tmp_path, "export", "xlsx", b"1", now, keep_days=7)
    second = write_generated(tmp_path, "export", "xlsx", b"2", now, keep_days=7)
    assert first != second
    assert (first.read_bytes(), second.read_bytes()) == (b"1", b"2")
