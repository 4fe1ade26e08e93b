"""Helpers of the tests that watch a store while another process writes it."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def count_evaluations(path: Path) -> int:
    """Rows of ``evaluations`` in a store being written (0 while it cannot be read yet)."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return int(con.execute("SELECT count(*) FROM evaluations").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0
