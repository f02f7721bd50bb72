"""The principal database schema and its versioned migrations.

`schema_version` holds one row; migrate() runs inside the caller's BEGIN IMMEDIATE
transaction, so a crash mid-migration leaves the previous version intact. A database
written by a newer kerbfirst is refused rather than guessed at.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 1

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE meta (
        name  TEXT PRIMARY KEY,
        value BLOB NOT NULL
    );
    CREATE TABLE principals (
        name               TEXT PRIMARY KEY,      -- MIT unparsed form, e.g. alice@DEMO.TEST
        requires_preauth   INTEGER NOT NULL DEFAULT 1,
        disabled           INTEGER NOT NULL DEFAULT 0,
        expires            INTEGER,               -- seconds since the epoch, NULL: never
        max_life           INTEGER,               -- seconds, NULL: realm default
        max_renewable_life INTEGER,
        allow_forwardable  INTEGER NOT NULL DEFAULT 1,
        allow_renewable    INTEGER NOT NULL DEFAULT 1,
        allow_as_service   INTEGER NOT NULL DEFAULT 1,
        fail_count         INTEGER NOT NULL DEFAULT 0,
        last_failed        INTEGER,
        created            INTEGER NOT NULL,
        modified           INTEGER NOT NULL
    );
    CREATE TABLE keys (
        principal TEXT NOT NULL REFERENCES principals(name) ON DELETE CASCADE,
        kvno      INTEGER NOT NULL,
        etype     INTEGER NOT NULL,
        position  INTEGER NOT NULL,               -- preference order within a kvno
        salt      BLOB NOT NULL,
        s2kparams BLOB,
        nonce     BLOB NOT NULL,                  -- AES-GCM nonce (12 bytes)
        sealed    BLOB NOT NULL,                  -- AES-GCM(master key, key, AAD=name|kvno|etype)
        created   INTEGER NOT NULL,
        PRIMARY KEY (principal, kvno, etype)
    );
    """,
}


class SchemaError(Exception):
    pass


def current_version(db: sqlite3.Connection) -> int:
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if not exists:
        return 0
    row = db.execute("SELECT version FROM schema_version").fetchone()
    return 0 if row is None else int(row[0])


def migrate(db: sqlite3.Connection) -> None:
    """Bring the schema to SCHEMA_VERSION; call inside an open write transaction."""
    version = current_version(db)
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"principal database has schema version {version}, newer than this kerbfirst "
            f"understands ({SCHEMA_VERSION}); upgrade kerbfirst"
        )
    if version == 0:
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO schema_version (version) VALUES (0)")
    for step in range(version + 1, SCHEMA_VERSION + 1):
        # executescript() would COMMIT our transaction; run statements one by one instead.
        for statement in _MIGRATIONS[step].split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute("UPDATE schema_version SET version = ?", (step,))
