"""Team submissions for facilitator mode, kept in SQLite in the user's data folder.

One connection per operation keeps the store safe to use from the server's worker threads; the
file survives a restart of the server. Schema history (``PRAGMA user_version``):

1. ``submissions`` (id, created, team, name, exercise, model_version, state).
2. adds ``uid`` (the client's idempotency key, UNIQUE), ``team_key`` (normalised team name),
   ``summary`` (goal check and error as JSON) and ``series`` (the KPI and cost series as float64
   bytes), computed once at write time so that listing never re-runs the model, the ``teams`` table (who owns a team name) and the ``changes`` log (what the
   facilitator's poll fetches). Databases of version 1 are migrated in place; their rows are kept.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import sys
import unicodedata
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import DashboardError

DB_NAME = "submissions.sqlite3"
SCHEMA_VERSION = 2
_SCHEMA_V1 = """
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
_TO_V2 = [
    "ALTER TABLE submissions ADD COLUMN uid TEXT",
    "ALTER TABLE submissions ADD COLUMN team_key TEXT",
    "ALTER TABLE submissions ADD COLUMN summary TEXT",
    # bytes, not JSON: parsing thousands of decimal floats per page was most of a listing's time
    "ALTER TABLE submissions ADD COLUMN series BLOB",
    # SQLite cannot add a UNIQUE column; a unique index is the same constraint
    "CREATE UNIQUE INDEX submissions_uid ON submissions(uid)",
    "CREATE INDEX submissions_team_key ON submissions(team_key)",
    """CREATE TABLE teams (
        key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        token_sha256 TEXT NOT NULL,
        created TEXT NOT NULL,
        created_by TEXT
    )""",
    """CREATE TABLE changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        sub_id INTEGER NOT NULL,
        deleted INTEGER NOT NULL
    )""",
]
_COLUMNS = "id, created, team, name, exercise, model_version, state, uid, summary, series"


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


def team_key(team: str) -> str:
    """The identity of a team name: "Team A", "team  a" and "Ｔｅａｍ Ａ" are one team.

    Ownership is decided on this key, so a look-alike spelling cannot claim a second copy of a
    name the facilitator would read as the same team.
    """
    return " ".join(unicodedata.normalize("NFKC", team).casefold().split())


def _sha256(token: str) -> str:
    # only a hash is stored: a copied database file does not hand out the teams' tokens
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Claim:
    """Outcome of :meth:`SubmissionStore.add`.

    ``status``: ``"created"``, ``"existing"`` (a retry of the same uid), or a refusal:
    ``"conflict"`` (uid used by a different submission), ``"team_taken"``, ``"team_full"``,
    ``"store_full"``. ``team_token`` is set when this call issued the team's token.
    """

    status: str
    row: dict | None = None
    team_token: str | None = None


class SubmissionStore:
    """Named scenarios submitted by teams: add, page, changes, get, delete."""

    def __init__(self, data_dir: str | Path):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_NAME
        self._migrate()

    # ------------------------------------------------------------------ connection and schema
    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        # autocommit mode with explicit transactions: BEGIN IMMEDIATE takes the write lock at
        # the start, so the ownership and volume checks and the insert are one atomic step even
        # when two workers (or two server processes) write at once
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    def _migrate(self) -> None:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            # WAL lets the facilitator's reads go on while a team's submission is written;
            # synchronous stays FULL so that an acknowledged submission survives a power cut
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("BEGIN IMMEDIATE")
            try:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise DashboardError(f"{self.path}: schema version {version} was written by a newer "
                                         f"innosim (this one reads up to {SCHEMA_VERSION})")
                if version < 1:
                    db.execute(_SCHEMA_V1)
                if version < 2:
                    self._to_v2(db)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise DashboardError(f"{self.path}: not a readable submissions database ({exc})") from None
        finally:
            db.close()

    @staticmethod
    def _to_v2(db: sqlite3.Connection) -> None:
        for statement in _TO_V2:
            db.execute(statement)
        rows = db.execute("SELECT id, team FROM submissions ORDER BY id").fetchall()
        for sub_id, team in rows:
            # old rows get a fresh uid (nobody can retry them) and no summary: it is computed
            # the first time a listing needs it, under the model that is loaded then
            db.execute("UPDATE submissions SET uid = ?, team_key = ? WHERE id = ?",
                       (str(uuid.uuid4()), team_key(team), sub_id))
            db.execute("INSERT INTO changes (sub_id, deleted) VALUES (?, 0)", (sub_id,))

    @staticmethod
    def _row(row: sqlite3.Row) -> dict:
        return {"id": row["id"], "created": row["created"], "team": row["team"], "name": row["name"],
                "exercise": row["exercise"], "model_version": row["model_version"],
                "state": json.loads(row["state"]), "uid": row["uid"],
                "summary": _unpack(row["summary"], row["series"])}

    # ------------------------------------------------------------------ writing
    def add(self, *, team: str, name: str, state: dict, model_version: str, exercise: str | None = None,
            uid: str | None = None, summary: dict | None = None, team_token: str | None = None,
            limits: tuple[int, int] = (10**9, 10**9)) -> Claim:
        """Store a submission unless a rule refuses it (see :class:`Claim`).

        ``team_token`` proves ownership of an existing team; ``limits`` is (most submissions per
        team, most submissions in all).
        """
        uid = uid or str(uuid.uuid4())
        key = team_key(team)
        state_json = json.dumps(state, ensure_ascii=False, sort_keys=True)
        with self._connect(write=True) as db:
            old = db.execute(f"SELECT {_COLUMNS}, team_key FROM submissions WHERE uid = ?", (uid,)).fetchone()
            if old is not None:
                same = (old["team_key"], old["name"], old["exercise"], json.loads(old["state"])) == \
                       (key, name, exercise, json.loads(state_json))
                if not same:
                    return Claim("conflict")
                return Claim("existing", self._row(old), self._reissue(db, key, uid, team_token))
            owner = db.execute("SELECT token_sha256 FROM teams WHERE key = ?", (key,)).fetchone()
            issued = None
            if owner is None:
                issued = _new_token()
                db.execute("INSERT INTO teams (key, name, token_sha256, created, created_by) VALUES (?, ?, ?, ?, ?)",
                           (key, team, _sha256(issued), _now(), uid))
            elif not (team_token and hmac.compare_digest(owner["token_sha256"], _sha256(team_token))):
                return Claim("team_taken")
            per_team, in_all = limits
            if db.execute("SELECT COUNT(*) FROM submissions WHERE team_key = ?", (key,)).fetchone()[0] >= per_team:
                return Claim("team_full")
            if db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0] >= in_all:
                return Claim("store_full")
            cur = db.execute(
                "INSERT INTO submissions (created, team, name, exercise, model_version, state, uid, team_key, "
                "summary, series) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_now(), team, name, exercise, model_version, state_json, uid, key, *_pack(summary)))
            db.execute("INSERT INTO changes (sub_id, deleted) VALUES (?, 0)", (cur.lastrowid,))
            row = db.execute(f"SELECT {_COLUMNS} FROM submissions WHERE id = ?", (cur.lastrowid,)).fetchone()
        return Claim("created", self._row(row), issued)

    @staticmethod
    def _reissue(db: sqlite3.Connection, key: str, uid: str, team_token: str | None) -> str | None:
        """A retry of the submission that created a team gets the team's token again.

        The first answer (which carried the token) may have been lost; only the page that made
        the submission knows its uid, so it alone can ask. The token is replaced rather than
        re-sent because only its hash is kept.
        """
        team = db.execute("SELECT token_sha256, created_by FROM teams WHERE key = ?", (key,)).fetchone()
        if team is None or team["created_by"] != uid:
            return None
        if team_token and hmac.compare_digest(team["token_sha256"], _sha256(team_token)):
            return None   # the page already holds it
        token = _new_token()
        db.execute("UPDATE teams SET token_sha256 = ? WHERE key = ?", (_sha256(token), key))
        return token

    def set_summary(self, sub_id: int, summary: dict) -> None:
        with self._connect(write=True) as db:
            db.execute("UPDATE submissions SET summary = ?, series = ? WHERE id = ?", (*_pack(summary), sub_id))

    def delete(self, sub_id: int) -> bool:
        with self._connect(write=True) as db:
            cur = db.execute("DELETE FROM submissions WHERE id = ?", (sub_id,))
            if cur.rowcount:
                db.execute("INSERT INTO changes (sub_id, deleted) VALUES (?, 1)", (sub_id,))
        return cur.rowcount > 0

    # ------------------------------------------------------------------ reading
    def get(self, sub_id: int) -> dict | None:
        with self._connect() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM submissions WHERE id = ?", (sub_id,)).fetchone()
        return self._row(row) if row else None

    def team_of(self, sub_id: int) -> tuple[str, str] | None:
        """(team key, token hash) of a submission's team; None when the submission does not exist."""
        with self._connect() as db:
            row = db.execute("SELECT s.team_key, t.token_sha256 FROM submissions s LEFT JOIN teams t "
                             "ON t.key = s.team_key WHERE s.id = ?", (sub_id,)).fetchone()
        return (row[0], row[1] or "") if row else None

    def team_token_ok(self, sub_id: int, token: str | None) -> bool | None:
        """Whether ``token`` is the token of the team that owns ``sub_id`` (None: no such submission)."""
        found = self.team_of(sub_id)
        if found is None:
            return None
        return bool(token and found[1] and hmac.compare_digest(found[1], _sha256(token)))

    def has_uid(self, uid: str) -> bool:
        with self._connect() as db:
            return db.execute("SELECT 1 FROM submissions WHERE uid = ?", (uid,)).fetchone() is not None

    def owner(self, team: str, token: str | None) -> str:
        """Whether ``token`` may submit as ``team``: ``"free"`` (no owner yet), ``"ok"`` or ``"taken"``."""
        with self._connect() as db:
            row = db.execute("SELECT token_sha256 FROM teams WHERE key = ?", (team_key(team),)).fetchone()
        if row is None:
            return "free"
        return "ok" if token and hmac.compare_digest(row[0], _sha256(token)) else "taken"

    def page(self, *, offset: int = 0, limit: int = 100, exercise: str | None = None) -> tuple[list[dict], int, int]:
        """(rows ordered by id, total count, change cursor) for one page of the listing."""
        where, args = ("WHERE exercise = ?", (exercise,)) if exercise else ("", ())
        with self._connect() as db:
            total = db.execute(f"SELECT COUNT(*) FROM submissions {where}", args).fetchone()[0]
            rows = db.execute(f"SELECT {_COLUMNS} FROM submissions {where} ORDER BY id LIMIT ? OFFSET ?",
                              (*args, limit, offset)).fetchall()
            cursor = db.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0]
        return [self._row(r) for r in rows], total, cursor

    def changes(self, since: int, *, limit: int = 100) -> tuple[list[dict], list[int], int, bool]:
        """What changed after cursor ``since``: (new rows, deleted ids, new cursor, more to fetch)."""
        with self._connect() as db:
            log = db.execute("SELECT seq, sub_id, deleted FROM changes WHERE seq > ? ORDER BY seq LIMIT ?",
                             (since, limit + 1)).fetchall()
            more = len(log) > limit
            log = log[:limit]
            added = [r["sub_id"] for r in log if not r["deleted"]]
            deleted = sorted({r["sub_id"] for r in log if r["deleted"]})
            rows = []
            if added:
                marks = ",".join("?" * len(added))
                rows = db.execute(f"SELECT {_COLUMNS} FROM submissions WHERE id IN ({marks}) ORDER BY id",
                                  added).fetchall()
            cursor = log[-1]["seq"] if log else max(since, 0)
            if not more:
                cursor = max(cursor, db.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0])
        return [self._row(r) for r in rows], deleted, cursor, more

    def all(self, *, batch: int = 500) -> Iterator[dict]:
        """Every submission in id order, read in batches (for the CSV export)."""
        last = 0
        while True:
            with self._connect() as db:
                rows = db.execute(f"SELECT {_COLUMNS} FROM submissions WHERE id > ? ORDER BY id LIMIT ?",
                                  (last, batch)).fetchall()
            if not rows:
                return
            for r in rows:
                yield self._row(r)
            last = rows[-1]["id"]

    def count(self) -> int:
        with self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]


def _pack(summary: dict | None) -> tuple[str | None, bytes | None]:
    """A summary as (JSON text, float64 bytes of its ``series`` array)."""
    if summary is None:
        return None, None
    small = dict(summary)
    arr = small.pop("series", None)
    if arr is None:
        return json.dumps({**small, "shape": None}, separators=(",", ":")), None
    arr = np.ascontiguousarray(arr, dtype="<f8")
    return json.dumps({**small, "shape": list(arr.shape)}, separators=(",", ":")), arr.tobytes()


def _unpack(text: str | None, blob: bytes | None) -> dict | None:
    if not text:
        return None
    small = json.loads(text)
    shape = small.pop("shape", None)
    small["series"] = np.frombuffer(blob, dtype="<f8").reshape(shape) if blob and shape else None
    return small


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _new_token() -> str:
    import secrets

    return secrets.token_urlsafe(32)
