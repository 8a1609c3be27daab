"""`litemaas proxy migrate`: LiteLLM's migrations applied and recorded as `prisma migrate deploy` would.

Every test runs against the real PostgreSQL server and its own freshly created database.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import structlog.testing
from psycopg import sql

from litemaas.proxy_runtime import litellm_schema
from litemaas.proxy_runtime.litellm_schema import (
    DatabaseUnreachable,
    FailedMigrationFound,
    MigrationFailed,
    MigrationLockTimeout,
    MigrationsNotConfigured,
    ensure_database,
    migrate,
    migrate_from_settings,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get("LITEMAAS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _site_package(name: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None, f"{name} is not installed"
    return Path(spec.origin).parent


MIGRATIONS_DIR = _site_package("litellm_proxy_extras") / "migrations"
LITELLM_SCHEMA = _site_package("litellm") / "proxy" / "schema.prisma"


# --- fixtures -------------------------------------------------------------------------


def _database_url(name: str) -> str:
    return urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{name}"))


def _drop_database(name: str) -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def new_database_name() -> Iterator[str]:
    """A unique database name, dropped after the test whether or not it was created."""
    name = f"litemaas_test_mig_{uuid.uuid4().hex[:12]}"
    yield name
    _drop_database(name)


@pytest.fixture
def database_url(new_database_name: str) -> str:
    """The URL of a new, empty database of our own."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(new_database_name)))
    return _database_url(new_database_name)


def _shipped_migrations() -> dict[str, str]:
    """Name -> checksum, computed here independently: sha256 hex of the raw file bytes."""
    return {
        directory.name: hashlib.sha256((directory / "migration.sql").read_bytes()).hexdigest()
        for directory in MIGRATIONS_DIR.iterdir()
        if directory.is_dir()
    }


def _ledger(url: str) -> list[tuple[str, str, str, object, object, int, str | None]]:
    with psycopg.connect(url) as connection:
        return connection.execute(
            "SELECT id, migration_name, checksum, finished_at, rolled_back_at, applied_steps_count, logs "
            "FROM _prisma_migrations ORDER BY started_at, migration_name"
        ).fetchall()


def _migrations_subset(tmp_path: Path, count: int) -> Path:
    """A migrations directory holding the first `count` shipped migrations (symlinked)."""
    subset = tmp_path / f"first_{count}"
    subset.mkdir()
    for name in sorted(_shipped_migrations())[:count]:
        (subset / name).symlink_to(MIGRATIONS_DIR / name, target_is_directory=True)
    return subset


def _write_migrations(directory: Path, scripts: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, script in scripts.items():
        (directory / name).mkdir()
        (directory / name / "migration.sql").write_text(script)
    return directory


# --- a fresh database -------------------------------------------------------------------


def test_fresh_database_gets_every_migration_recorded_with_prismas_checksum(
    database_url: str,
) -> None:
    shipped = _shipped_migrations()

    started = time.monotonic()
    applied = migrate(database_url)
    elapsed = time.monotonic() - started

    assert applied == sorted(shipped), "every shipped migration, in name order"
    rows = _ledger(database_url)
    assert Counter(row[1] for row in rows) == Counter(list(shipped))
    for migration_id, name, checksum, finished_at, rolled_back_at, steps, logs in rows:
        assert checksum == shipped[name], name
        assert str(uuid.UUID(migration_id)) == migration_id
        assert finished_at is not None and rolled_back_at is None
        assert steps == 1 and logs is None
    print(f"fresh migrate: {len(applied)} migrations in {elapsed:.2f}s")


def test_ledger_table_has_prismas_exact_definition(database_url: str, tmp_path: Path) -> None:
    migrate(database_url, _write_migrations(tmp_path / "m", {"0001_t": "SELECT 1;"}))

    with psycopg.connect(database_url) as connection:
        columns = connection.execute(
            "SELECT column_name, data_type, character_maximum_length, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position"
        ).fetchall()
        primary_key = connection.execute(
            "SELECT a.attname FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid "
            "AND a.attnum = ANY(x.indkey) WHERE x.indrelid = '_prisma_migrations'::regclass AND x.indisprimary"
        ).fetchall()

    assert columns == [
        ("id", "character varying", 36, "NO", None),
        ("checksum", "character varying", 64, "NO", None),
        ("finished_at", "timestamp with time zone", None, "YES", None),
        ("migration_name", "character varying", 255, "NO", None),
        ("logs", "text", None, "YES", None),
        ("rolled_back_at", "timestamp with time zone", None, "YES", None),
        ("started_at", "timestamp with time zone", None, "NO", "now()"),
        ("applied_steps_count", "integer", None, "NO", "0"),
    ]
    assert primary_key == [("id",)]


def test_second_run_applies_nothing(database_url: str) -> None:
    migrate(database_url)
    before = _ledger(database_url)

    assert migrate(database_url) == []
    assert _ledger(database_url) == before


def test_prisma_schema_param_targets_that_schema(database_url: str) -> None:
    applied = migrate(f"{database_url}?schema=litellm&connection_limit=5&pool_timeout=10")

    assert applied == sorted(_shipped_migrations())
    with psycopg.connect(database_url) as connection:
        schemas = connection.execute(
            "SELECT DISTINCT table_schema FROM information_schema.tables WHERE table_name LIKE 'LiteLLM_%%' "
            "OR table_name = '_prisma_migrations'"
        ).fetchall()
    assert schemas == [("litellm",)]


# --- the schema LiteLLM expects ---------------------------------------------------------

PRISMA_SCALARS = {
    "String",
    "Int",
    "BigInt",
    "Float",
    "Decimal",
    "Boolean",
    "DateTime",
    "Json",
    "Bytes",
}


def _prisma_blocks(kind: str) -> dict[str, str]:
    text = re.sub(r"//.*", "", LITELLM_SCHEMA.read_text())
    return {name: body for name, body in re.findall(rf"^{kind}\s+(\w+)\s*\{{(.*?)^\}}", text, re.MULTILINE | re.DOTALL)}


def _prisma_tables() -> dict[str, dict[str, str]]:
    """Table name (@@map respected) -> {field: column (@map respected)} for every scalar field."""
    enums = set(_prisma_blocks("enum"))
    tables: dict[str, dict[str, str]] = {}
    for model, body in _prisma_blocks("model").items():
        mapped = re.search(r'@@map\(\s*(?:name:\s*)?"([^"]+)"', body)
        columns: dict[str, str] = {}
        for line in body.splitlines():
            parts = line.split()
            if len(parts) < 2 or parts[0].startswith("@@"):
                continue
            field, field_type = parts[0], re.sub(r"[?\[\]]", "", parts[1])
            if field_type in PRISMA_SCALARS or field_type in enums or field_type.startswith("Unsupported("):
                column = re.search(r'@map\(\s*"([^"]+)"', line)
                columns[field] = column.group(1) if column else field
        tables[mapped.group(1) if mapped else model] = columns
    return tables


def _prisma_index_names() -> set[str]:
    """The names Prisma gives the @@index / @@unique / @unique declarations (63-byte limit)."""

    def derived(table: str, columns: list[str], suffix: str) -> str:
        base = f"{table}_{'_'.join(columns)}"
        return base[: 63 - len(suffix) - 1] + f"_{suffix}"

    tables = _prisma_tables()
    names: set[str] = set()
    for model, body in _prisma_blocks("model").items():
        mapped = re.search(r'@@map\(\s*(?:name:\s*)?"([^"]+)"', body)
        table = mapped.group(1) if mapped else model
        flat = " ".join(body.split())
        for kind, fields, options in re.findall(r"@@(index|unique)\(\s*\[([^\]]*)\]([^)]*(?:\([^)]*\))?[^)]*)\)", flat):
            explicit = re.search(r'map:\s*"([^"]+)"', options)
            columns = [tables[table].get(f.split("(")[0].strip(), f.split("(")[0].strip()) for f in fields.split(",")]
            names.add(explicit.group(1) if explicit else derived(table, columns, "idx" if kind == "index" else "key"))
        for line in body.splitlines():
            if re.search(r"\s@unique\b", line):
                explicit = re.search(r'@unique\(\s*map:\s*"([^"]+)"', line)
                field = line.split()[0]
                names.add(explicit.group(1) if explicit else derived(table, [tables[table][field]], "key"))
    return names


def test_schema_has_every_table_and_column_of_litellms_schema_prisma(
    database_url: str,
) -> None:
    expected = _prisma_tables()
    assert len(expected) > 50, "the schema.prisma parser found too few models"

    migrate(database_url)

    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
        ).fetchall()
    actual: dict[str, set[str]] = {}
    for table, column in rows:
        actual.setdefault(table, set()).add(column)

    assert set(expected) - set(actual) == set(), "tables declared in schema.prisma but missing"
    missing_columns = {
        table: sorted(set(columns.values()) - actual[table])
        for table, columns in expected.items()
        if set(columns.values()) - actual[table]
    }
    assert missing_columns == {}


# Fields LiteMaaS reads or writes through LiteLLM; the parser must see them, and the
# migrated tables must carry every scalar column schema.prisma declares for these models.
KEY_TABLE_FIELDS = {
    "LiteLLM_VerificationToken": {
        "token",
        "key_alias",
        "spend",
        "max_budget",
        "user_id",
        "team_id",
        "models",
    },
    "LiteLLM_SpendLogs": {
        "request_id",
        "api_key",
        "spend",
        "startTime",
        "litellm_call_id",
        "organization_id",
    },
    "LiteLLM_UserTable": {
        "user_id",
        "user_email",
        "spend",
        "max_budget",
        "models",
        "user_role",
    },
}


def test_key_tables_have_every_scalar_column(database_url: str) -> None:
    declared = _prisma_tables()
    for table, fields in KEY_TABLE_FIELDS.items():
        assert fields <= set(declared[table]), f"the parser must see {table}'s fields"

    migrate(database_url, build_request_log_indexes=False)

    with psycopg.connect(database_url) as connection:
        for table in KEY_TABLE_FIELDS:
            columns = {
                row[0]
                for row in connection.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND table_name = %s",
                    (table,),
                )
            }
            assert sorted(set(declared[table].values()) - columns) == [], table


def test_every_index_declared_in_schema_prisma_exists_and_is_valid(
    database_url: str,
) -> None:
    declared = _prisma_index_names()
    assert {
        "LiteLLM_SpendLogs_api_key_startTime_idx",
        "LiteLLM_SpendLogs_litellm_call_id_idx",
    } <= declared

    migrate(database_url)

    with psycopg.connect(database_url) as connection:
        valid = {
            row[0]
            for row in connection.execute(
                "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                "JOIN pg_namespace n ON n.oid = i.relnamespace WHERE n.nspname = 'public' AND x.indisvalid"
            )
        }
    assert sorted(declared - valid) == []


def test_request_log_indexes_are_left_to_litellm_when_spend_logs_has_rows(database_url: str, tmp_path: Path) -> None:
    all_but_last = _migrations_subset(tmp_path, len(_shipped_migrations()) - 1)
    migrate(database_url, all_but_last, build_request_log_indexes=False)
    with psycopg.connect(database_url) as connection:
        connection.execute(
            'INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, api_key, "startTime", "endTime") '
            "VALUES ('r1', 'completion', 'hashed', now(), now())"
        )

    with structlog.testing.capture_logs() as logs:
        migrate(database_url)

    with psycopg.connect(database_url) as connection:
        valid = connection.execute(
            "SELECT count(*) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE i.relname = ANY(%s) AND x.indisvalid",
            ([name for _, name, _ in litellm_schema.REQUEST_LOG_INDEXES],),
        ).fetchone()
    assert valid == (2,)
    assert "litellm_migrations.request_log_indexes_built" in [entry["event"] for entry in logs]


def test_request_log_index_and_lock_constants_match_litellms() -> None:
    from litellm_proxy_extras import migration_lock, request_log_indexes

    assert litellm_schema.LITELLM_MIGRATION_LOCK_KEY == migration_lock.MIGRATION_LOCK_KEY
    assert "72707369" in Path(migration_lock.__file__).read_text(), "LiteLLM's copy of Prisma's lock key moved"
    assert (
        tuple((index.table, index.name, index.columns) for index in request_log_indexes.REQUEST_LOG_INDEXES)
        == litellm_schema.REQUEST_LOG_INDEXES
    )


# --- concurrency ------------------------------------------------------------------------

_RUNNER = """
import json, sys, time
from litemaas.proxy_runtime.litellm_schema import migrate
start_at = float(sys.argv[2])
time.sleep(max(0.0, start_at - time.time()))
print(json.dumps(migrate(sys.argv[1])))
"""


def _assert_each_migration_applied_once(url: str, results: list[list[str]]) -> None:
    shipped = sorted(_shipped_migrations())
    returned = [name for result in results for name in result]
    assert sorted(returned) == shipped, "together the runs applied everything, and nothing twice"
    counts = Counter(row[1] for row in _ledger(url))
    assert set(counts.values()) == {1} and sorted(counts) == shipped
    with psycopg.connect(url) as connection:
        valid_indexes = connection.execute(
            "SELECT count(*) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE i.relname = ANY(%s) AND x.indisvalid",
            ([name for _, name, _ in litellm_schema.REQUEST_LOG_INDEXES],),
        ).fetchone()
    assert valid_indexes == (2,)


def test_replica_processes_starting_together_apply_each_migration_once(
    database_url: str,
) -> None:
    start_at = time.time() + 1.5
    runners = [
        subprocess.Popen(
            [sys.executable, "-c", _RUNNER, database_url, str(start_at)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [runner.communicate(timeout=120) for runner in runners]

    for runner, (_, stderr) in zip(runners, outputs, strict=True):
        assert runner.returncode == 0, stderr
    _assert_each_migration_applied_once(database_url, [json.loads(stdout.splitlines()[-1]) for stdout, _ in outputs])


def test_threads_starting_together_apply_each_migration_once(database_url: str) -> None:
    barrier = threading.Barrier(6)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(migrate(database_url))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert len(results) == 6
    _assert_each_migration_applied_once(database_url, results)


def test_a_waiting_run_does_not_deadlock_a_concurrent_index_build(database_url: str, tmp_path: Path) -> None:
    # A run blocked in pg_advisory_lock would keep a snapshot that CREATE INDEX CONCURRENTLY
    # in the lock holder waits for. Hold the lock here, start a waiting run, build an index
    # concurrently in the holding session: it must finish and the waiter must then proceed.
    scripts = _write_migrations(tmp_path / "m", {"0001_table": "CREATE TABLE t (x int);"})
    waiter_result: list[list[str]] = []
    waiter_errors: list[BaseException] = []

    def wait_and_migrate() -> None:
        try:
            waiter_result.append(migrate(database_url, scripts))
        except BaseException as exc:  # noqa: BLE001 - reported below
            waiter_errors.append(exc)

    with psycopg.connect(database_url, autocommit=True) as holder:
        holder.execute(
            "SELECT pg_advisory_lock(%s::bigint)",
            (litellm_schema.LITELLM_MIGRATION_LOCK_KEY,),
        )
        holder.execute("CREATE TABLE other (y int)")
        waiter = threading.Thread(target=wait_and_migrate)
        waiter.start()
        _wait_for_a_session_waiting_on_the_lock(holder, waiter)
        assert waiter_result == [] and waiter_errors == [], "the waiter ran while the lock was held"
        holder.execute("SET statement_timeout = '10s'")
        holder.execute("CREATE INDEX CONCURRENTLY other_y_idx ON other (y)")
        holder.execute(
            "SELECT pg_advisory_unlock(%s::bigint)",
            (litellm_schema.LITELLM_MIGRATION_LOCK_KEY,),
        )
        waiter.join(timeout=30)

    assert waiter_errors == []
    assert waiter_result == [["0001_table"]]


def _wait_for_a_session_waiting_on_the_lock(
    observer: psycopg.Connection[tuple[object, ...]], waiter: threading.Thread
) -> None:
    """Until another session of this database has asked for an advisory lock and not got it.

    The waiter polls with pg_try_advisory_lock (idle between attempts, its last query shown
    in pg_stat_activity); a waiter blocked in pg_advisory_lock shows as an ungranted lock.
    Either way the waiting session is visible, so the test never guesses with a sleep.
    """
    deadline = time.monotonic() + 30
    while True:
        row = observer.execute(
            "SELECT count(*) FROM pg_stat_activity a "
            "WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() "
            "AND (a.query ILIKE '%pg_try_advisory_lock%' OR EXISTS ("
            "  SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND NOT l.granted))"
        ).fetchone()
        if row is not None and row[0]:
            return
        assert waiter.is_alive(), "the waiting run ended before it waited for the lock"
        assert time.monotonic() < deadline, "no session ever waited for the migration lock"
        time.sleep(0.01)


def test_lock_held_too_long_is_a_clear_error_naming_the_holder(
    database_url: str,
) -> None:
    with psycopg.connect(database_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s::bigint)", (litellm_schema.PRISMA_MIGRATE_LOCK_KEY,))
        holder_pid = holder.info.backend_pid

        with pytest.raises(MigrationLockTimeout) as raised:
            migrate(database_url, lock_timeout=0.5)

    assert f"held by pid {holder_pid}" in str(raised.value)
    with psycopg.connect(database_url) as connection:
        assert connection.execute("SELECT to_regclass('_prisma_migrations')").fetchone() == (None,)


# --- failures ---------------------------------------------------------------------------


def test_half_applied_migration_stops_the_run_and_is_named(database_url: str, tmp_path: Path) -> None:
    total = len(_shipped_migrations())
    migrate(
        database_url,
        _migrations_subset(tmp_path, total - 1),
        build_request_log_indexes=False,
    )
    stuck = max(_shipped_migrations())
    with psycopg.connect(database_url) as connection:
        connection.execute(
            "INSERT INTO _prisma_migrations (id, checksum, migration_name, logs, applied_steps_count) "
            "VALUES (%s, %s, %s, %s, 0)",
            (
                str(uuid.uuid4()),
                _shipped_migrations()[stuck],
                stuck,
                "Database error:\ncanceling statement",
            ),
        )

    with pytest.raises(FailedMigrationFound) as raised:
        migrate(database_url)

    message = str(raised.value)
    assert stuck in message
    assert "canceling statement" in message
    assert "rolled-back" in message
    assert Counter(row[1] for row in _ledger(database_url))[stuck] == 1, "nothing applied"


def test_resolved_failed_migration_is_applied_again(database_url: str, tmp_path: Path) -> None:
    total = len(_shipped_migrations())
    migrate(
        database_url,
        _migrations_subset(tmp_path, total - 1),
        build_request_log_indexes=False,
    )
    stuck = max(_shipped_migrations())
    with psycopg.connect(database_url) as connection:
        connection.execute(
            "INSERT INTO _prisma_migrations (id, checksum, migration_name, applied_steps_count) VALUES (%s, %s, %s, 0)",
            (str(uuid.uuid4()), _shipped_migrations()[stuck], stuck),
        )
    with pytest.raises(FailedMigrationFound, match="died or was killed"):
        migrate(database_url)
    with psycopg.connect(database_url) as connection:
        connection.execute("UPDATE _prisma_migrations SET rolled_back_at = now() WHERE finished_at IS NULL")

    assert migrate(database_url) == [stuck]
    rows = [row for row in _ledger(database_url) if row[1] == stuck]
    assert [(row[3] is not None, row[4] is not None) for row in rows] == [
        (False, True),
        (True, False),
    ]


def test_failing_migration_is_rolled_back_whole_and_named(database_url: str, tmp_path: Path) -> None:
    scripts = _write_migrations(
        tmp_path / "m",
        {
            "0001_ok": "CREATE TABLE a (x int);",
            "0002_broken": "CREATE TABLE b (x int);\nINSERT INTO no_such_table VALUES (1);",
            "0003_never": "CREATE TABLE c (x int);",
        },
    )

    with pytest.raises(MigrationFailed) as raised:
        migrate(database_url, scripts)

    assert "0002_broken" in str(raised.value)
    assert "no_such_table" in str(raised.value)
    assert "at line 2 of migration.sql" in str(raised.value)
    assert [row[1] for row in _ledger(database_url)] == ["0001_ok"]
    with psycopg.connect(database_url) as connection:
        tables = {row[0] for row in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert tables == {"_prisma_migrations", "a"}


def test_statement_refused_in_a_transaction_runs_outside_one(database_url: str, tmp_path: Path) -> None:
    scripts = _write_migrations(
        tmp_path / "m",
        {
            "0001_table": "CREATE TABLE t (x int);",
            "0002_index": "-- CreateIndex (CONCURRENTLY)\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_x_idx ON t (x);",
        },
    )

    assert migrate(database_url, scripts) == ["0001_table", "0002_index"]
    assert [(row[1], row[3] is not None, row[5]) for row in _ledger(database_url)] == [
        ("0001_table", True, 1),
        ("0002_index", True, 1),
    ]


def test_failed_statement_outside_a_transaction_is_recorded_and_then_refused(database_url: str, tmp_path: Path) -> None:
    scripts = _write_migrations(
        tmp_path / "m",
        {
            "0001_table": "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (1);",
            "0002_unique": "CREATE UNIQUE INDEX CONCURRENTLY t_x_key ON t (x);",
        },
    )

    with pytest.raises(MigrationFailed, match="0002_unique.*INVALID index"):
        migrate(database_url, scripts)
    failed = [row for row in _ledger(database_url) if row[1] == "0002_unique"]
    assert len(failed) == 1 and failed[0][3] is None and "could not create unique index" in (failed[0][6] or "")

    with pytest.raises(FailedMigrationFound, match="0002_unique"):
        migrate(database_url, scripts)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    port = _closed_port()

    with pytest.raises(DatabaseUnreachable) as raised:
        migrate(f"postgresql://litellm:s3cret-pw@127.0.0.1:{port}/litellm")

    message = str(raised.value)
    assert message.startswith(f"cannot connect to PostgreSQL at 127.0.0.1:{port}/litellm: ")
    assert "s3cret-pw" not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_migrate_from_settings_without_a_url_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from litemaas.config import get_settings

    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.delenv("LITEMAAS_LITELLM_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(MigrationsNotConfigured, match="LITEMAAS_LITELLM_DATABASE_URL is not set"):
            migrate_from_settings()
    finally:
        get_settings.cache_clear()


def test_migrate_from_settings_migrates_the_configured_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> None:
    from litemaas.config import get_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LITEMAAS_LITELLM_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        assert migrate_from_settings() == sorted(_shipped_migrations())
    finally:
        get_settings.cache_clear()


# --- ensure_database --------------------------------------------------------------------


def _database_exists(name: str) -> bool:
    with psycopg.connect(POSTGRES_URL) as admin:
        return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def test_ensure_database_creates_once(new_database_name: str) -> None:
    assert ensure_database(POSTGRES_URL, new_database_name) is True
    assert ensure_database(POSTGRES_URL, new_database_name) is False
    assert _database_exists(new_database_name)


def test_ensure_database_called_concurrently_creates_it_once(
    new_database_name: str,
) -> None:
    barrier = threading.Barrier(8)
    outcomes: list[bool] = []
    errors: list[BaseException] = []

    def run(call: Callable[[], bool]) -> None:
        barrier.wait()
        try:
            outcomes.append(call())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(lambda: ensure_database(POSTGRES_URL, new_database_name),)) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(outcomes) == [False] * 7 + [True]
    assert _database_exists(new_database_name)


def test_ensure_database_on_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(DatabaseUnreachable, match="cannot connect to PostgreSQL"):
        ensure_database(f"postgresql://postgres@127.0.0.1:{_closed_port()}/postgres", "whatever")
