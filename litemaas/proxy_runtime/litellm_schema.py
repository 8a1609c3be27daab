"""Apply LiteLLM's SQL migrations the way ``prisma migrate deploy`` records them.

LiteLLM ships its schema as Prisma migrations in ``litellm_proxy_extras/migrations``
(``<timestamp>_<name>/migration.sql``). Running them through the Prisma CLI needs Node and
native engines downloaded from Prisma's CDN, which air-gapped clusters cannot reach, so we
apply the same files with psycopg and write the same ``_prisma_migrations`` rows. Native
Prisma tooling (``prisma migrate deploy/status/resolve``) and LiteLLM's own migration job
then see a database they recognise and find nothing left to do.

Faithfulness to Prisma (prisma-engines ``schema-engine``, engine 5.17):

- checksum: sha256 of the ``migration.sql`` bytes, lowercase zero-padded hex
  (``schema-connector/src/checksum.rs``; Prisma reads the file with ``read_to_string`` and
  hashes ``script.as_bytes()``, i.e. the raw UTF-8 bytes);
- order: migration directories sorted by name as strings (byte order, not by timestamp);
- execution: Prisma sends the whole file as one simple-protocol query, so a multi-statement
  file runs as one implicit transaction and a single statement runs outside any transaction.
  We run each file in an explicit transaction together with its ledger row (so a crash leaves
  no half-applied row at all), and fall back to Prisma's non-transactional path only when
  PostgreSQL refuses the file inside a transaction block (``CREATE INDEX CONCURRENTLY``);
- ledger: ``applied`` = ``finished_at`` set and ``rolled_back_at`` null; a row with neither
  is a failed migration and, like Prisma's P3009, stops the run until an operator resolves it.

Concurrency: the whole run holds two session advisory locks on one connection, LiteLLM's
migration coordinator lock (``litellm_proxy_extras.migration_lock.MIGRATION_LOCK_KEY``) and
then Prisma Migrate's own lock (72707369), in the order LiteLLM's resolver takes them, so
replicas starting together, LiteLLM's migration job and ``prisma migrate deploy`` exclude
one another. Session locks need a session: point the URL at PostgreSQL itself, not at a
transaction-mode pooler (the same rule as LiteLLM's ``DIRECT_URL``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
import structlog
from psycopg import sql

from litemaas.config import get_settings

log = structlog.get_logger("litemaas.proxy_runtime.litellm_schema")

# prisma-engines, sql-schema-connector postgres flavour: `SELECT pg_advisory_lock(72707369)`.
PRISMA_MIGRATE_LOCK_KEY: Final = 72707369
# litellm_proxy_extras.migration_lock.MIGRATION_LOCK_KEY (the v2 coordinator lock, also held
# while LiteLLM builds its request-log indexes). Copied, not imported: importing that module
# imports all of litellm (~6 s). tests/proxy_runtime/test_litellm_schema.py checks both stay equal.
LITELLM_MIGRATION_LOCK_KEY: Final = int.from_bytes(b"llm_mig2", "big")

# Indexes declared in schema.prisma that no migration builds: LiteLLM's migration job builds
# them after `migrate deploy` (litellm_proxy_extras.request_log_indexes.REQUEST_LOG_INDEXES,
# copied as (table, index, columns); the tests check the copy). The proxy runs with
# DISABLE_SCHEMA_UPDATE=true, so nothing else would ever build them.
REQUEST_LOG_INDEXES: Final = (
    (
        "LiteLLM_SpendLogs",
        "LiteLLM_SpendLogs_api_key_startTime_idx",
        ("api_key", "startTime"),
    ),
    (
        "LiteLLM_SpendLogs",
        "LiteLLM_SpendLogs_litellm_call_id_idx",
        ("litellm_call_id",),
    ),
)

LEDGER_TABLE: Final = "_prisma_migrations"
DEFAULT_LOCK_TIMEOUT_SECONDS: Final = 600.0
CONNECT_TIMEOUT_SECONDS: Final = 10
_MAX_LOCK_POLL_SECONDS: Final = 0.5

# Prisma's exact DDL for the ledger (sql-schema-connector, postgres flavour).
_LEDGER_DDL: Final = """\
CREATE TABLE {table} (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);
"""

# Every connection keyword this libpq understands; anything else in a URL is Prisma's
# (schema, connection_limit, pool_timeout, pgbouncer, sslaccept, ...) and libpq rejects it.
_LIBPQ_KEYWORDS: Final = frozenset(option.keyword.decode() for option in psycopg.pq.Conninfo.get_defaults())


class MigrationError(Exception):
    """LiteLLM's migrations could not be applied; the message says why and what to do."""


class MigrationsNotConfigured(MigrationError):
    """No LiteLLM database URL is configured."""


class DatabaseUnreachable(MigrationError):
    """The database could not be reached or refused the connection."""


class MigrationLockTimeout(MigrationError):
    """Another migration run kept the migration lock for longer than we wait."""


class FailedMigrationFound(MigrationError):
    """The ledger holds a migration that started and never finished (Prisma's P3009)."""


class MigrationFailed(MigrationError):
    """A migration script failed while this run applied it."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One ``<timestamp>_<name>/migration.sql`` from LiteLLM's migrations directory."""

    name: str
    script: str
    checksum: str


@dataclass(frozen=True, slots=True)
class _LedgerRow:
    migration_name: str
    checksum: str
    finished: bool
    started_at: datetime
    applied_steps_count: int
    logs: str | None


@dataclass(frozen=True, slots=True)
class _Target:
    """A database URL split into what libpq accepts, Prisma's target schema and a safe label."""

    conninfo: str
    schema: str
    label: str

    @classmethod
    def from_url(cls, url: str) -> _Target:
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql"):
            raise MigrationError(
                f"not a PostgreSQL URL (scheme {parts.scheme or 'missing'!r}); expected postgresql://..."
            )
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        params = dict(pairs)
        schema = params.get("schema") or "public"
        kept = [(key, value) for key, value in pairs if key in _LIBPQ_KEYWORDS]
        # Prisma's `sslcert` names the CA bundle; libpq's names a client certificate.
        if "sslcert" in params and "sslkey" not in params:
            kept = [("sslrootcert", value) if key == "sslcert" else (key, value) for key, value in kept]
        conninfo = urlunsplit(parts._replace(query=urlencode(kept, quote_via=quote)))
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        return cls(conninfo=conninfo, schema=schema, label=f"{host}{port}{parts.path or '/'}")


def prisma_checksum(script: bytes) -> str:
    """The checksum Prisma stores for a migration: sha256 of the file's bytes, hex."""
    return hashlib.sha256(script).hexdigest()


def default_migrations_dir() -> Path:
    """The migrations directory of the installed ``litellm-proxy-extras`` package."""
    spec = importlib.util.find_spec("litellm_proxy_extras")
    if spec is None or spec.origin is None:
        raise MigrationError("litellm-proxy-extras is not installed; it ships LiteLLM's migrations")
    return Path(spec.origin).parent / "migrations"


def load_migrations(migrations_dir: Path) -> tuple[Migration, ...]:
    """Every migration in ``migrations_dir``, in Prisma's order (directory names, sorted)."""
    if not migrations_dir.is_dir():
        raise MigrationError(f"migrations directory {migrations_dir} does not exist")
    migrations = []
    for directory in sorted(
        (entry for entry in migrations_dir.iterdir() if entry.is_dir()),
        key=lambda d: d.name,
    ):
        script_path = directory / "migration.sql"
        try:
            raw = script_path.read_bytes()
        except FileNotFoundError:
            raise MigrationError(f"migration {directory.name} has no migration.sql ({script_path})") from None
        try:
            script = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MigrationError(f"migration {directory.name}: migration.sql is not valid UTF-8 ({exc})") from None
        migrations.append(Migration(name=directory.name, script=script, checksum=prisma_checksum(raw)))
    return tuple(migrations)


def migrate(
    database_url: str,
    migrations_dir: Path | None = None,
    *,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
    build_request_log_indexes: bool = True,
) -> list[str]:
    """Apply every pending LiteLLM migration to ``database_url``; return the names applied.

    Idempotent and safe to run from several replicas at once. Raises ``MigrationError``
    (with an operator-readable message) when the database is unreachable, the lock cannot be
    had within ``lock_timeout`` seconds, the ledger holds a failed migration, or a script fails.
    """
    migrations = load_migrations(migrations_dir if migrations_dir is not None else default_migrations_dir())
    target = _Target.from_url(database_url)
    applied: list[str] = []
    started = time.monotonic()
    with _connect(target) as connection:
        try:
            with _migration_locks(connection, target, lock_timeout):
                _use_schema(connection, target.schema)
                ledger = _ensure_ledger(connection, target.schema)
                pending = _pending(migrations, _read_ledger(connection, ledger), target)
                for migration in pending:
                    _apply(connection, ledger, migration, target)
                    applied.append(migration.name)
                indexes_in_place = not build_request_log_indexes or _build_indexes_on_empty_spend_logs(
                    connection, target.schema
                )
        except psycopg.Error as exc:
            if connection.broken:
                raise DatabaseUnreachable(
                    f"lost the connection to {target.label} while migrating "
                    f"({len(applied)} applied this run): {_first_line(exc)}"
                ) from exc
            raise MigrationError(f"migrating {target.label} failed: {_db_error(exc)}") from exc
    log.info(
        "litellm_migrations.done",
        applied=len(applied),
        known=len(migrations),
        seconds=round(time.monotonic() - started, 3),
        database=target.label,
    )
    if not indexes_in_place:
        _build_request_log_indexes_with_litellm(target)
    return applied


def migrate_from_settings() -> list[str]:
    """``litemaas proxy migrate``: migrate the database in ``LITEMAAS_LITELLM_DATABASE_URL``."""
    database_url = get_settings().litellm_database_url
    if not database_url:
        raise MigrationsNotConfigured(
            "LITEMAAS_LITELLM_DATABASE_URL is not set: it must point at LiteLLM's own PostgreSQL database"
        )
    return migrate(database_url)


def ensure_database(admin_url: str, name: str) -> bool:
    """Create database ``name`` through ``admin_url`` unless it exists; True when created.

    Safe when several processes call it at once: callers serialise on an advisory lock in the
    admin database, and a creation racing a caller that skips the lock still counts as existing.
    """
    target = _Target.from_url(admin_url)
    lock_key = int.from_bytes(
        hashlib.sha256(f"litemaas.ensure_database:{name}".encode()).digest()[:8],
        "big",
        signed=True,
    )
    with _connect(target) as connection:
        try:
            connection.execute("SELECT pg_advisory_lock(%s::bigint)", (lock_key,))
            try:
                if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                    return False
                try:
                    connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                except (
                    psycopg.errors.DuplicateDatabase,
                    psycopg.errors.UniqueViolation,
                ):
                    return False
                log.info("litellm_migrations.database_created", database=name, server=target.label)
                return True
            finally:
                if not connection.broken:
                    connection.execute("SELECT pg_advisory_unlock(%s::bigint)", (lock_key,))
        except psycopg.Error as exc:
            if connection.broken:
                raise DatabaseUnreachable(f"lost the connection to {target.label}: {_first_line(exc)}") from exc
            raise MigrationError(f"could not create database {name!r} on {target.label}: {_db_error(exc)}") from exc


@contextmanager
def _connect(target: _Target) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    try:
        connection = psycopg.connect(
            target.conninfo,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            fallback_application_name="litemaas-migrate",
        )
    except psycopg.Error as exc:
        raise DatabaseUnreachable(f"cannot connect to PostgreSQL at {target.label}: {_first_line(exc)}") from None
    with connection:
        yield connection


@contextmanager
def _migration_locks(
    connection: psycopg.Connection[tuple[object, ...]], target: _Target, timeout: float
) -> Iterator[None]:
    deadline = time.monotonic() + timeout
    held: list[int] = []
    try:
        for key in (LITELLM_MIGRATION_LOCK_KEY, PRISMA_MIGRATE_LOCK_KEY):
            _acquire(connection, key, deadline, target)
            held.append(key)
        yield
    finally:
        for key in reversed(held):
            if not connection.closed and not connection.broken:
                connection.execute("SELECT pg_advisory_unlock(%s::bigint)", (key,))


def _acquire(
    connection: psycopg.Connection[tuple[object, ...]],
    key: int,
    deadline: float,
    target: _Target,
) -> None:
    # Poll with pg_try_advisory_lock instead of waiting in pg_advisory_lock: a session blocked
    # in a statement keeps its snapshot, and the lock holder's CREATE INDEX CONCURRENTLY waits
    # for every older snapshot in the database, so a blocking waiter deadlocks with the holder.
    # A sleeping poller holds no snapshot (the reason LiteLLM's coordinator polls as well).
    pause = 0.02
    while True:
        row = connection.execute("SELECT pg_try_advisory_lock(%s::bigint)", (key,)).fetchone()
        if row is not None and row[0]:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise MigrationLockTimeout(
                f"gave up waiting for the migration lock on {target.label}: {_lock_holders(connection, key)}. "
                "Another migration (litemaas proxy migrate, LiteLLM's migration job or prisma migrate deploy) "
                "is still running, or a pooled session leaked the lock."
            )
        time.sleep(min(remaining, pause * random.uniform(0.5, 1.5)))  # noqa: S311  jitter between retries, not a secret
        pause = min(pause * 2, _MAX_LOCK_POLL_SECONDS)


def _lock_holders(connection: psycopg.Connection[tuple[object, ...]], key: int) -> str:
    rows = connection.execute(
        "SELECT a.pid, coalesce(nullif(a.application_name, ''), '?'), a.state, now() - a.backend_start "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND ((l.classid::bigint << 32) | l.objid::bigint) = %s::bigint AND l.objsubid = 1",
        (key,),
    ).fetchall()
    if not rows:
        return "no holder visible now"
    return "held by " + ", ".join(f"pid {pid} ({app}, {state}, connected {age})" for pid, app, state, age in rows)


def _use_schema(connection: psycopg.Connection[tuple[object, ...]], schema: str) -> None:
    # Prisma runs migrations with search_path set to the URL's `schema` (default public).
    exists = connection.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    if not exists:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))


def _ensure_ledger(connection: psycopg.Connection[tuple[object, ...]], schema: str) -> sql.Identifier:
    table = sql.Identifier(schema, LEDGER_TABLE)
    found = connection.execute("SELECT to_regclass(%s)", (table.as_string(connection),)).fetchone()
    if found is None or found[0] is None:
        connection.execute(sql.SQL(_LEDGER_DDL).format(table=table))
        log.info("litellm_migrations.ledger_created", schema=schema)
    return table


def _read_ledger(connection: psycopg.Connection[tuple[object, ...]], ledger: sql.Identifier) -> tuple[_LedgerRow, ...]:
    rows = connection.execute(
        sql.SQL(
            "SELECT migration_name, checksum, finished_at IS NOT NULL, started_at, applied_steps_count, logs "
            "FROM {} WHERE rolled_back_at IS NULL ORDER BY started_at"
        ).format(ledger)
    ).fetchall()
    return tuple(_LedgerRow(*row) for row in rows)  # type: ignore[arg-type]


def _pending(migrations: Sequence[Migration], ledger: Sequence[_LedgerRow], target: _Target) -> list[Migration]:
    failed = [row for row in ledger if not row.finished]
    if failed:
        raise FailedMigrationFound(_failed_message(failed, target))
    applied = {row.migration_name: row for row in ledger}
    for migration in migrations:
        row = applied.get(migration.name)
        if row is not None and row.checksum != migration.checksum:
            # `migrate deploy` does not check this either; it means the shipped file was edited
            # after this database applied it, which is LiteLLM's business, not a reason to stop.
            log.warning(
                "litellm_migrations.checksum_mismatch",
                migration=migration.name,
                recorded=row.checksum,
                shipped=migration.checksum,
            )
    unknown = sorted(set(applied) - {migration.name for migration in migrations})
    if unknown:
        # The database was migrated by a newer LiteLLM; LiteLLM itself only warns as well.
        log.warning("litellm_migrations.unknown_applied", count=len(unknown), newest=unknown[-1])
    return [migration for migration in migrations if migration.name not in applied]


def _failed_message(failed: Sequence[_LedgerRow], target: _Target) -> str:
    lines = [f"{len(failed)} LiteLLM migration(s) in {target.label} started and never finished; nothing was applied:"]
    for row in failed:
        detail = " ".join((row.logs or "").split())
        if detail:
            reason = _shorten(detail, 400)
        elif row.applied_steps_count:
            reason = (
                "its script completed but the finish was never recorded (the process running it died between the two)"
            )
        else:
            reason = "no error recorded (the process running it died or was killed)"
        lines.append(f"  - {row.migration_name} (started {row.started_at.isoformat()}): {reason}")
    lines.append(
        "Check what the migration left behind (an index built CONCURRENTLY may be left INVALID; drop it), "  # noqa: S608  advice printed for an operator, never executed
        "then mark it rolled back so it is retried: `prisma migrate resolve --rolled-back <name>`, or "
        f"UPDATE {LEDGER_TABLE} SET rolled_back_at = now() WHERE migration_name = '<name>' AND finished_at IS NULL."
    )
    return "\n".join(lines)


def _apply(
    connection: psycopg.Connection[tuple[object, ...]],
    ledger: sql.Identifier,
    migration: Migration,
    target: _Target,
) -> None:
    started = time.monotonic()
    migration_id = str(uuid.uuid4())
    try:
        with connection.transaction():
            _record_started(connection, ledger, migration, migration_id)
            # No parameters: psycopg sends it as one simple-protocol query, as Prisma does.
            connection.execute(migration.script)
            _record_finished(connection, ledger, migration_id)
    except psycopg.errors.ActiveSqlTransaction:
        # Rolled back, nothing applied: the file must run outside a transaction block.
        _apply_outside_transaction(connection, ledger, migration, target)
    except psycopg.Error as exc:
        if connection.broken:
            raise DatabaseUnreachable(
                f"lost the connection to {target.label} while applying LiteLLM migration {migration.name}; "
                f"the server rolled it back: {_first_line(exc)}"
            ) from exc
        raise MigrationFailed(
            f"LiteLLM migration {migration.name} failed on {target.label} and was rolled back "
            f"(nothing of it was applied or recorded): {_db_error(exc, migration.script)}"
        ) from exc
    log.info("litellm_migrations.applied", migration=migration.name, seconds=round(time.monotonic() - started, 3))


def _apply_outside_transaction(
    connection: psycopg.Connection[tuple[object, ...]],
    ledger: sql.Identifier,
    migration: Migration,
    target: _Target,
) -> None:
    # Exactly Prisma's sequence: the started row is committed first, so a run that dies
    # mid-way leaves a visible failed migration instead of silently half-built DDL.
    migration_id = str(uuid.uuid4())
    _record_started(connection, ledger, migration, migration_id)
    try:
        connection.execute(migration.script)
    except psycopg.Error as exc:
        if connection.broken:
            raise DatabaseUnreachable(
                f"lost the connection to {target.label} while applying LiteLLM migration {migration.name} outside "
                f"a transaction; it stays recorded as started and needs checking: {_first_line(exc)}"
            ) from exc
        logs = f"Database error:\n{_db_error(exc, migration.script)}\n"
        connection.execute(
            sql.SQL("UPDATE {} SET logs = %s WHERE id = %s").format(ledger),
            (logs, migration_id),
        )
        raise MigrationFailed(
            f"LiteLLM migration {migration.name} failed on {target.label}; it runs outside a transaction, so it "
            f"is recorded as failed and may have left an INVALID index behind: {_db_error(exc, migration.script)}"
        ) from exc
    _record_finished(connection, ledger, migration_id)


def _record_started(
    connection: psycopg.Connection[tuple[object, ...]],
    ledger: sql.Identifier,
    migration: Migration,
    migration_id: str,
) -> None:
    connection.execute(
        sql.SQL(
            "INSERT INTO {} (id, checksum, migration_name, started_at, applied_steps_count) "
            "VALUES (%s, %s, %s, clock_timestamp(), 0)"
        ).format(ledger),
        (migration_id, migration.checksum, migration.name),
    )


def _record_finished(
    connection: psycopg.Connection[tuple[object, ...]],
    ledger: sql.Identifier,
    migration_id: str,
) -> None:
    connection.execute(
        sql.SQL(
            "UPDATE {} SET applied_steps_count = applied_steps_count + 1, finished_at = clock_timestamp() WHERE id = %s"
        ).format(ledger),
        (migration_id,),
    )


def _build_indexes_on_empty_spend_logs(connection: psycopg.Connection[tuple[object, ...]], schema: str) -> bool:
    """Build the missing request-log indexes here when that is trivially safe; True when all are in place.

    That is the fresh-install case: a plain, empty table with no leftover of the indexes, so
    ``CREATE INDEX CONCURRENTLY`` is instant and we can do it under the locks we hold. Anything
    else (rows to index, a partitioned table, an INVALID leftover, a hand-built equivalent) is
    left to LiteLLM's own builder, which handles those cases.
    """
    rows = connection.execute(
        "SELECT i.relname, x.indisvalid FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_namespace n ON n.oid = i.relnamespace WHERE n.nspname = %s AND i.relname = ANY(%s)",
        (schema, [name for _, name, _ in REQUEST_LOG_INDEXES]),
    ).fetchall()
    states = {str(name): bool(valid) for name, valid in rows}
    missing = [index for index in REQUEST_LOG_INDEXES if index[1] not in states]
    if not missing:
        return all(states.values())
    if not all(states.values()):
        return False
    for table, name, columns in missing:
        kind = connection.execute(
            "SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)",
            (sql.Identifier(schema, table).as_string(connection),),
        ).fetchone()
        if kind is None:
            continue  # no table, nothing to index (a partial migrations directory)
        if kind[0] != "r":
            return False
        has_rows = connection.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(sql.Identifier(schema, table)))
        if has_rows.fetchone() != (False,):
            return False
        connection.execute(
            sql.SQL("CREATE INDEX CONCURRENTLY IF NOT EXISTS {} ON {} ({})").format(
                sql.Identifier(name),
                sql.Identifier(schema, table),
                sql.SQL(", ").join(map(sql.Identifier, columns)),
            )
        )
        log.info("litellm_migrations.index_built", index=name)
    return True


def _build_request_log_indexes_with_litellm(target: _Target) -> None:
    # Imported here: it imports all of litellm (~6 s), needed only on upgraded databases.
    from litellm_proxy_extras.request_log_indexes import ensure_request_log_indexes

    # It takes the coordinator lock per statement and backs off while another run holds it;
    # that run then builds whatever is still missing, so False is not an error here.
    if ensure_request_log_indexes(target.conninfo, target.schema):
        log.info("litellm_migrations.request_log_indexes_built", database=target.label)
    else:
        # Another run holds the lock and builds them, or the next run will.
        log.warning("litellm_migrations.request_log_indexes_pending", database=target.label)


def _db_error(exc: psycopg.Error, script: str | None = None) -> str:
    diagnostic = exc.diag
    text = diagnostic.message_primary or _first_line(exc)
    if diagnostic.sqlstate:
        text = f"{text} [SQLSTATE {diagnostic.sqlstate}]"
    position = diagnostic.statement_position
    if script is not None and position and position.isdigit():
        text = f"{text} at line {script[: int(position)].count(chr(10)) + 1} of migration.sql"
    return text


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
