"""Team submissions for facilitator mode, kept in SQLite in the user's data folder.

One connection per operation keeps the store safe to use from the server's worker threads; the
file survives a restart of the server.
"""
from __future__ import annotations

import json
import os
import sqlite3
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

DB_NAME = "submissions.sqlite3"
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    team TEXT NOT NULL,
    name TEXT NOT NULL,
    exercise TEXT,
    model_version TEXT NOT NULL,
    state TEXT NOT NULL
)
"""


def default_data_dir() -> Path:
    """Where the dashboard keeps its data: ``$INNOSIM_DATA_DIR``, else the platform's user data folder.

    Linux: ``$XDG_DATA_HOME/innosim`` or ``~/.local/share/innosim``; macOS:
    ``~/Library/Application Support/innosim``; Windows: ``%APPDATA%\\innosim``.
    """
    env = os.environ.get("INNOSIM_DATA_DIR")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "innosim"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "innosim"
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "innosim"


class SubmissionStore:
    """Named scenarios submitted by teams: add, list, get, delete."""

    def __init__(self, data_dir: str | Path):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_NAME
        with self._connect() as db:
            db.execute(_SCHEMA)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        try:
            with db:   # commit, or roll back on error
                yield db
        finally:
            db.close()

    @staticmethod
    def _row(row: sqlite3.Row) -> dict:
        return {"id": row["id"], "created": row["created"], "team": row["team"], "name": row["name"],
                "exercise": row["exercise"], "model_version": row["model_version"],
                "state": json.loads(row["state"])}

    def add(self, *, team: str, name: str, state: dict, model_version: str, exercise: str | None = None) -> dict:
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._connect() as db:
            cur = db.execute(
                "INSERT INTO submissions (created, team, name, exercise, model_version, state) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (created, team, name, exercise, model_version, json.dumps(state, ensure_ascii=False)))
            sub_id = cur.lastrowid
        return self.get(sub_id)

    def list(self) -> list[dict]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM submissions ORDER BY id").fetchall()
        return [self._row(r) for r in rows]

    def get(self, sub_id: int) -> dict | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM submissions WHERE id = ?", (sub_id,)).fetchone()
        return self._row(row) if row else None

    def delete(self, sub_id: int) -> bool:
        with self._connect() as db:
            cur = db.execute("DELETE FROM submissions WHERE id = ?", (sub_id,))
        return cur.rowcount > 0
