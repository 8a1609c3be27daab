"""All SQL of the backups domain: server facts, row counts in pg_dump's snapshot, scratch databases, the lock.

Backups run outside any request transaction (pg_dump is a separate process), so this module
opens its own short psycopg connections from a ``Target``.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from litemaas.backups.errors import BackupBusy, BackupFailed
from litemaas.backups.pgtools import Target

# Every table of the database's own schemas: ordinary tables and partitions (a partitioned
# parent holds no rows itself), without the catalogs and without tables an extension owns.
_TABLES = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  AND n.nspname NOT LIKE 'pg_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype = 'e')
ORDER BY 1, 2
"""
# One lock for every backup operation on a deployment, held by the session that runs it.
_LOCK_KEY = zlib.crc32(b"litemaas.backups") & 0x7FFFFFFF


@contextmanager
def connect(target: Target, *, autocommit: bool = False) -> Iterator[psycopg.Connection[Any]]:
    kwargs: dict[str, Any] = {
        "host": target.host,
        "port": target.port,
        "user": target.user,
        "dbname": target.dbname,
        "application_name": "litemaas-backup",
        "connect_timeout": 10,
    }
    if target.password is not None:
        kwargs["password"] = target.password
    if target.sslmode is not None:
        kwargs["sslmode"] = target.sslmode
    try:
        db = psycopg.connect(autocommit=autocommit, **kwargs)
    except psycopg.Error as exc:
        # libpq's message names host and user at most; the password is never part of it.
        raise BackupFailed(
            f"cannot connect to database {target.dbname!r} at {target.host}:{target.port}: "
            f"{str(exc).strip().splitlines()[-1][:300]}"
        ) from None
    try:
        yield db
    finally:
        db.close()


def server_version(target: Target) -> tuple[int, str]:
    """(major version, full version text) of the server holding ``target``."""
    with connect(target, autocommit=True) as db:
        row = db.execute(
            "SELECT current_setting('server_version_num')::int, current_setting('server_version')"
        ).fetchone()
    if row is None:
        raise BackupFailed("the server did not report its version")
    return int(row[0]) // 10000, str(row[1])


def _counts(db: psycopg.Connection[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for schema, table in db.execute(_TABLES).fetchall():
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        row = db.execute(query).fetchone()
        counts[f"{schema}.{table}"] = int(row[0]) if row else 0
    return counts


def _alembic_revision(db: psycopg.Connection[Any]) -> str | None:
    if db.execute("SELECT to_regclass('public.alembic_version')").fetchone() in (None, (None,)):
        return None
    rows = db.execute("SELECT version_num FROM public.alembic_version").fetchall()
    return ",".join(sorted(str(r[0]) for r in rows)) or None


@contextmanager
def exported_snapshot(target: Target) -> Iterator[tuple[str, dict[str, int], str | None]]:
    """(snapshot id, row counts, alembic revision) read in one repeatable-read snapshot, kept open.

    pg_dump ``--snapshot=<id>`` dumps exactly what these counts counted, as long as this
    transaction stays open; it ends when the ``with`` block does.
    """
    with connect(target) as db:
        db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        row = db.execute("SELECT pg_export_snapshot()").fetchone()
        if row is None:
            raise BackupFailed("the server exported no snapshot")
        counts = _counts(db)
        revision = _alembic_revision(db)
        yield str(row[0]), counts, revision
        db.rollback()


def count_rows(target: Target) -> dict[str, int]:
    with connect(target) as db:
        db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        counts = _counts(db)
        db.rollback()
    return counts


def create_database(server: Target, name: str) -> None:
    with connect(server, autocommit=True) as db:
        db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(server: Target, name: str) -> None:
    with connect(server, autocommit=True) as db:
        db.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def operation_lock(target: Target) -> Iterator[None]:
    """Hold the deployment-wide backup lock (a session advisory lock on our database) or raise BackupBusy."""
    with connect(target, autocommit=True) as db:
        row = db.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK_KEY,)).fetchone()
        if not row or not row[0]:
            raise BackupBusy("another backup operation is running; try again when it has finished")
        try:
            yield
        finally:
            db.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
