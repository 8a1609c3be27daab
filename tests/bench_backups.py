"""Backups figures: backup, verify and test-restore time and size at 1,000 users, 4,000 keys and 1,000,000 spend logs.

    python -m tests.bench --only backups

Two fresh databases on the test server (ours migrated with Alembic, LiteLLM's with its
migrations), filled server-side with generate_series, backed up to a temporary directory with
the same code as ``litemaas backup create``; asserts only that every check passed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import psycopg

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from tests.support.stack import create_database, database_url, drop_database


def _async_url(name: str) -> str:
    return database_url(name).replace("postgresql://", "postgresql+asyncpg://", 1)


def seed(litemaas_db: str, litellm_db: str, *, users: int, keys: int, spend_rows: int) -> None:
    with psycopg.connect(database_url(litemaas_db), autocommit=True) as db:
        db.execute(
            "INSERT INTO users (id, username, identity_provider, subject) "
            "SELECT md5('bench-user-' || u)::uuid, 'bench-user-' || u, 'dev', 'bench-user-' || u "
            "FROM generate_series(0, %(users)s - 1) u",
            {"users": users},
        )
        db.execute(
            "INSERT INTO api_keys (id, user_id, alias, token_hash, last4) "
            "SELECT md5('bench-key-' || k)::uuid, md5('bench-user-' || mod(k, %(users)s))::uuid, 'key-' || k, "
            "encode(sha256(('bench-key-' || k)::bytea), 'hex'), lpad(mod(k, 10000)::text, 4, '0') "
            "FROM generate_series(0, %(keys)s - 1) k",
            {"keys": keys, "users": users},
        )
    with psycopg.connect(database_url(litellm_db), autocommit=True) as db:
        db.execute(
            'INSERT INTO "LiteLLM_UserTable" (user_id, models) '
            "SELECT 'bench-user-' || u, ARRAY['granite-3-2-8b-instruct'] FROM generate_series(0, %(users)s - 1) u",
            {"users": users},
        )
        db.execute(
            'INSERT INTO "LiteLLM_VerificationToken" (token, key_alias, user_id, models) '
            "SELECT encode(sha256(('bench-key-' || k)::bytea), 'hex'), 'key-' || k, "
            "'bench-user-' || mod(k, %(users)s), ARRAY['granite-3-2-8b-instruct'] "
            "FROM generate_series(0, %(keys)s - 1) k",
            {"keys": keys, "users": users},
        )
        # One row per request, as LiteLLM writes them (metadata kept small, messages not stored).
        db.execute(
            'INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend, total_tokens, prompt_tokens, '
            'completion_tokens, "startTime", "endTime", request_duration_ms, model, model_group, '
            'custom_llm_provider, api_base, "user", metadata, status) '
            "SELECT 'chatcmpl-' || md5(i::text), 'acompletion', encode(sha256(('bench-key-' || mod(i, %(keys)s))::bytea), 'hex'), "
            "(mod(i, 2000) * 0.0000002 + mod(i, 1000) * 0.0000006), mod(i, 2000) + mod(i, 1000), mod(i, 2000), "
            "mod(i, 1000), now() - make_interval(secs => i), now() - make_interval(secs => i) + interval '400 ms', 400, "
            "'hosted_vllm/granite-3.2-8b-instruct', 'granite-3-2-8b-instruct', 'hosted_vllm', 'http://vllm:8000/v1', "
            "'bench-user-' || mod(i, %(users)s), jsonb_build_object('user_api_key_alias', 'key-' || mod(i, %(keys)s), "
            "'user_api_key_user_id', 'bench-user-' || mod(i, %(users)s), 'status', 'success'), 'success' "
            "FROM generate_series(0, %(rows)s - 1) i",
            {"rows": spend_rows, "keys": keys, "users": users},
        )
        db.execute('ANALYZE "LiteLLM_SpendLogs"')


def _mib(n: int) -> str:
    return f"{n / 1048576:.1f} MiB"


def _database_size(name: str) -> int:
    with psycopg.connect(database_url(name)) as db:
        row = db.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


def run(users: int = 1000, keys: int = 4000, spend_rows: int = 1_000_000) -> None:
    from litemaas.backups import service
    from litemaas.config import Settings
    from litemaas.migrations import upgrade
    from litemaas.proxy_runtime.litellm_schema import migrate

    litemaas_db, litellm_db = create_database("bench_backup_litemaas"), create_database("bench_backup_litellm")
    directory = Path(tempfile.mkdtemp(prefix="litemaas-bench-backups-"))
    try:
        upgrade(_async_url(litemaas_db))
        migrate(database_url(litellm_db))
        started = time.monotonic()
        seed(litemaas_db, litellm_db, users=users, keys=keys, spend_rows=spend_rows)
        print(
            f"  seeded {users:,} users, {keys:,} keys, {spend_rows:,} spend logs in {time.monotonic() - started:.1f} s"
        )
        print(
            f"  database sizes: ours {_mib(_database_size(litemaas_db))}, LiteLLM's {_mib(_database_size(litellm_db))}"
        )
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=_async_url(litemaas_db),
            litellm_database_url=database_url(litellm_db),
            backup_storage="local",
            backup_local_dir=directory,
        )
        config = service.config_from(settings)

        started = time.monotonic()
        manifest, _ = service.create_backup(config, verify=False)
        backup_seconds = time.monotonic() - started
        sizes = ", ".join(
            f"{d.role} {_mib(d.size)} (pg_dump {d.pg_dump_version.split()[0]})" for d in manifest.databases
        )
        print(
            f"  backup (pg_dump both, counts, sha256, store): {backup_seconds:6.1f} s  size {_mib(manifest.size)}: {sizes}"
        )
        assert manifest.databases[1].tables["public.LiteLLM_SpendLogs"] == spend_rows

        started = time.monotonic()
        verified = service.verify_backup(config, manifest.id, restore=False)
        print(f"  verify (sha256 + full pg_restore read):     {time.monotonic() - started:6.1f} s  ok={verified.ok}")
        assert verified.ok

        started = time.monotonic()
        tested = service.verify_backup(config, manifest.id, restore=True)
        rows = sum(c.rows_checked for c in tested.databases)
        print(
            f"  test restore (scratch databases, counts):   {time.monotonic() - started:6.1f} s  ok={tested.ok}, {rows:,} rows compared"
        )
        assert tested.ok
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        drop_database(litemaas_db)
        drop_database(litellm_db)


def main(argv: list[str] | None = None) -> None:
    run()


if __name__ == "__main__":
    main()
