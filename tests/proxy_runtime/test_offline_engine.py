"""Contract tests of the offline Prisma engine, through prisma-client-py against PostgreSQL.

A small schema (every scalar kind LiteLLM's schema uses, plus Decimal and Bytes, an enum,
a 1-n relation) is generated into a throwaway package with the same Prisma CLI and engine
the proxy uses, then every operation class prisma-client-py can send is exercised.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import psycopg
import pytest

from litemaas.proxy_runtime import prisma_client
from tests.support.stack import create_database, database_url, drop_database, free_port

SCHEMA = """
datasource db {
  provider = "postgresql"
  url      = env("CONTRACT_DATABASE_URL")
}

generator client {
  provider             = "prisma-client-py"
  interface            = "asyncio"
  enable_experimental_decimal = true
  recursive_type_depth = 5
  output               = "%(output)s"
}

enum Role {
  USER
  ADMIN
}

model Account {
  id         String   @id @default(uuid())
  email      String   @unique
  role       Role     @default(USER)
  balance    Decimal  @default(0)
  counter    BigInt   @default(0)
  avatar     Bytes?
  profile    Json?
  tags       String[] @default([])
  created_at DateTime @default(now())
  posts      Post[]
}

model Post {
  id           Int       @id @default(autoincrement())
  title        String
  views        Int       @default(0)
  published_at DateTime?
  author_id    String
  author       Account   @relation(fields: [author_id], references: [id])
}
"""

DDL = """
CREATE TYPE "Role" AS ENUM ('USER', 'ADMIN');
CREATE TABLE "Account" (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL,
  role "Role" NOT NULL DEFAULT 'USER',
  balance DECIMAL(65,30) NOT NULL DEFAULT 0,
  counter BIGINT NOT NULL DEFAULT 0,
  avatar BYTEA,
  profile JSONB,
  tags TEXT[] DEFAULT ARRAY[]::TEXT[],
  created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX "Account_email_key" ON "Account"(email);
CREATE TABLE "Post" (
  id SERIAL PRIMARY KEY,
  title TEXT NOT NULL,
  views INTEGER NOT NULL DEFAULT 0,
  published_at TIMESTAMP(3),
  author_id TEXT NOT NULL REFERENCES "Account"(id) ON DELETE RESTRICT ON UPDATE CASCADE
);
"""


@pytest.fixture(scope="module")
def contract_db() -> Iterator[str]:
    name = create_database("engine_contract")
    url = database_url(name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(DDL)
    yield url
    drop_database(name)


@pytest.fixture(scope="module")
def contract_client_module(tmp_path_factory: pytest.TempPathFactory, contract_db: str) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp("contract")
    output = root / "contract_prisma"
    schema = root / "schema.prisma"
    schema.write_text(SCHEMA % {"output": output})
    env = prisma_client.prisma_env("offline")
    proc = subprocess.run(
        [sys.executable, "-m", "prisma", "generate", "--schema", str(schema)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    saved = {k: os.environ.get(k) for k in ("PRISMA_QUERY_ENGINE_BINARY", "CONTRACT_DATABASE_URL")}
    os.environ["PRISMA_QUERY_ENGINE_BINARY"] = env["PRISMA_QUERY_ENGINE_BINARY"]
    os.environ["CONTRACT_DATABASE_URL"] = contract_db
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("contract_prisma")
    finally:
        sys.path.remove(str(root))
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
async def db(contract_client_module: ModuleType) -> AsyncIterator[Any]:
    client = contract_client_module.Prisma()
    await client.connect()
    yield client
    await client.disconnect()


@pytest.fixture(autouse=True)
async def clean(db: Any) -> None:
    await db.execute_raw('TRUNCATE "Post", "Account" RESTART IDENTITY CASCADE')


async def make_account(db: Any, email: str = "a@example.com", **extra: Any) -> Any:
    return await db.account.create(data={"email": email, **extra})


async def test_create_find_update_delete_one(db: Any, contract_client_module: ModuleType) -> None:
    fields = contract_client_module.fields
    created = await db.account.create(
        data={
            "email": "one@example.com",
            "role": "ADMIN",
            "balance": Decimal("12.345678901234567890"),
            "counter": 2**53 + 7,
            "avatar": fields.Base64.encode(b"\x00\x01binary\xff"),
            "profile": fields.Json({"nested": {"list": [1, 2, {"x": None}]}, "unicode": "é✓"}),
            "tags": ["a", "b"],
        }
    )
    assert created.role == "ADMIN"
    assert created.balance == Decimal("12.345678901234567890")
    assert created.counter == 2**53 + 7
    assert created.avatar is not None and created.avatar.decode() == b"\x00\x01binary\xff"
    assert created.profile == {"nested": {"list": [1, 2, {"x": None}]}, "unicode": "é✓"}
    assert created.tags == ["a", "b"]
    assert isinstance(created.created_at, dt.datetime) and created.created_at.tzinfo is not None

    found = await db.account.find_unique(where={"email": "one@example.com"})
    assert found is not None and found.id == created.id and found.profile == created.profile

    updated = await db.account.update(
        where={"id": created.id},
        data={"counter": {"increment": 3}, "profile": fields.Json(["replaced"]), "tags": {"push": "c"}},
    )
    assert updated is not None
    assert updated.counter == 2**53 + 10 and updated.profile == ["replaced"] and updated.tags == ["a", "b", "c"]

    deleted = await db.account.delete(where={"id": created.id})
    assert deleted is not None and deleted.id == created.id
    assert await db.account.find_unique(where={"id": created.id}) is None
    assert await db.account.delete(where={"id": created.id}) is None


async def test_find_or_raise_and_record_not_found(db: Any, contract_client_module: ModuleType) -> None:
    errors = contract_client_module.errors
    with pytest.raises(errors.RecordNotFoundError):
        await db.account.find_unique_or_raise(where={"email": "missing@example.com"})
    with pytest.raises(errors.RecordNotFoundError):
        await db.account.find_first_or_raise(where={"role": "ADMIN"})


async def test_many_operations_filters_order_and_pagination(db: Any) -> None:
    count = await db.account.create_many(
        data=[{"email": f"u{i}@example.com", "counter": i, "role": "ADMIN" if i % 2 else "USER"} for i in range(10)]
    )
    assert count == 10
    admins = await db.account.find_many(where={"role": "ADMIN"}, order={"counter": "desc"}, take=3, skip=1)
    assert [a.counter for a in admins] == [7, 5, 3]
    first = await db.account.find_first(where={"email": {"contains": "u4"}})
    assert first is not None and first.counter == 4
    assert await db.account.update_many(where={"counter": {"gte": 5}}, data={"role": "USER"}) == 5
    assert await db.account.count(where={"role": "USER"}) == 8  # 0,2,4,6,8 + 5,7,9
    assert await db.account.delete_many(where={"counter": {"in": [0, 1, 2]}}) == 3
    assert await db.account.count() == 7


async def test_upsert_inserts_then_updates(db: Any) -> None:
    a = await db.account.upsert(
        where={"email": "up@example.com"},
        data={"create": {"email": "up@example.com", "counter": 1}, "update": {"counter": {"increment": 1}}},
    )
    b = await db.account.upsert(
        where={"email": "up@example.com"},
        data={"create": {"email": "up@example.com", "counter": 1}, "update": {"counter": {"increment": 1}}},
    )
    assert a.id == b.id and a.counter == 1 and b.counter == 2


async def test_datetime_filters_and_values(db: Any) -> None:
    acc = await make_account(db)
    when = dt.datetime(2031, 5, 6, 7, 8, 9, 123000, tzinfo=dt.UTC)
    post = await db.post.create(data={"title": "t", "author_id": acc.id, "published_at": when})
    assert post.published_at == when
    later = await db.post.find_many(where={"published_at": {"gt": when - dt.timedelta(seconds=1)}})
    assert [p.id for p in later] == [post.id]
    assert await db.post.find_many(where={"published_at": {"gt": when}}) == []


async def test_nested_relation_writes_and_includes(db: Any) -> None:
    acc = await db.account.create(
        data={
            "email": "author@example.com",
            "posts": {"create": [{"title": "first"}, {"title": "second", "views": 5}]},
        },
        include={"posts": True},
    )
    assert acc.posts is not None and sorted(p.title for p in acc.posts) == ["first", "second"]
    post = await db.post.create(
        data={"title": "third", "author": {"connect": {"email": "author@example.com"}}}, include={"author": True}
    )
    assert post.author is not None and post.author.email == "author@example.com"
    loaded = await db.account.find_unique(
        where={"id": acc.id}, include={"posts": {"where": {"views": {"gt": 0}}, "order_by": {"id": "asc"}}}
    )
    assert loaded is not None and loaded.posts is not None and [p.title for p in loaded.posts] == ["second"]
    with_author = await db.account.find_many(where={"posts": {"some": {"title": "third"}}})
    assert [a.id for a in with_author] == [acc.id]


async def test_aggregate_count_and_group_by(db: Any) -> None:
    for i in range(6):
        await make_account(db, f"g{i}@example.com", role="ADMIN" if i < 2 else "USER", counter=i, balance=Decimal(i))
    groups = await db.account.group_by(
        by=["role"], sum={"counter": True, "balance": True}, count=True, order={"role": "asc"}
    )
    by_role = {g["role"]: g for g in groups}
    assert int(by_role["ADMIN"]["_sum"]["counter"]) == 1
    assert int(by_role["USER"]["_sum"]["counter"]) == 2 + 3 + 4 + 5
    assert Decimal(str(by_role["USER"]["_sum"]["balance"])) == Decimal(14)
    assert by_role["USER"]["_count"]["_all"] == 4
    assert await db.account.count(where={"counter": {"lt": 3}}) == 3


async def test_unique_violation_is_prismas_own_error(db: Any, contract_client_module: ModuleType) -> None:
    errors = contract_client_module.errors
    await make_account(db, "dup@example.com")
    with pytest.raises(errors.UniqueViolationError):
        await make_account(db, "dup@example.com")
    with pytest.raises(errors.ForeignKeyViolationError):
        await db.post.create(data={"title": "orphan", "author_id": "no-such-account"})


async def test_batch_is_atomic(db: Any, contract_client_module: ModuleType) -> None:
    errors = contract_client_module.errors
    async with db.batch_() as batch:
        batch.account.create(data={"email": "b1@example.com"})
        batch.account.create(data={"email": "b2@example.com"})
    assert await db.account.count() == 2
    with pytest.raises(errors.UniqueViolationError):
        async with db.batch_() as batch:
            batch.account.create(data={"email": "b3@example.com"})
            batch.account.create(data={"email": "b1@example.com"})
    assert await db.account.find_unique(where={"email": "b3@example.com"}) is None


async def test_interactive_transaction_commit_and_rollback(db: Any) -> None:
    async with db.tx() as tx:
        await tx.account.create(data={"email": "tx1@example.com"})
        assert await tx.account.count() == 1
    assert await db.account.count() == 1

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with db.tx() as tx:
            await tx.account.create(data={"email": "tx2@example.com"})
            assert await tx.account.find_unique(where={"email": "tx2@example.com"}) is not None
            raise Boom
    assert await db.account.find_unique(where={"email": "tx2@example.com"}) is None
    assert await db.account.count() == 1


async def test_raw_queries_with_arrays_and_unknown_column_types(db: Any) -> None:
    acc = await make_account(db, "raw@example.com", tags=["x", "y"], counter=42)
    rows = await db.query_raw(
        'SELECT id, tags, counter, created_at, profile, $1::text AS param FROM "Account" WHERE email = $2',
        "hello",
        "raw@example.com",
    )
    assert rows[0]["id"] == acc.id and rows[0]["tags"] == ["x", "y"] and rows[0]["param"] == "hello"
    assert int(rows[0]["counter"]) == 42
    # name, name[], regclass and timestamptz[] have no mapping in adapter-pg; they come back as text.
    catalog = await db.query_raw(
        "SELECT c.relname::name AS rel, ARRAY[c.relname::name] AS names, c.oid::regclass AS reg, "
        "ARRAY[now()] AS stamps FROM pg_class c WHERE c.relname = 'Account'"
    )
    assert catalog[0]["rel"] == "Account" and catalog[0]["names"] == ["Account"]
    assert "Account" in str(catalog[0]["reg"]) and len(catalog[0]["stamps"]) == 1
    first = await db.query_first('SELECT count(*)::int AS n FROM "Account"')
    assert first["n"] == 1
    changed = await db.execute_raw('UPDATE "Account" SET counter = counter + 1 WHERE email = $1', "raw@example.com")
    assert changed == 1


async def test_raw_query_error_surfaces_as_raw_query_error(db: Any, contract_client_module: ModuleType) -> None:
    errors = contract_client_module.errors
    with pytest.raises(errors.RawQueryError):
        await db.query_raw("SELECT * FROM no_such_table")
    assert await db.account.count() == 0  # the engine keeps serving


async def test_metrics_endpoint(db: Any) -> None:
    await db.account.count()
    text = await db.get_metrics(format="prometheus")
    assert "prisma_client_queries_total" in text
    data = await db.get_metrics(format="json")
    counters = {c.key: c.value for c in data.counters}
    assert counters["prisma_client_queries_total"] >= 1


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_engine_stops_cleanly_on_signal(sig: signal.Signals, contract_db: str) -> None:
    port = free_port()
    schema = Path(prisma_client.litellm_schema_path())
    env = {**os.environ, "PRISMA_DML_PATH": str(schema), "DATABASE_URL": contract_db}
    proc = subprocess.Popen(
        [str(prisma_client.BIN_DIR / "query-engine"), "-p", str(port), "--enable-metrics", "--enable-raw-queries"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/status", timeout=1).json() == {"status": "ok"}:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        proc.communicate(timeout=10)
        pytest.fail("engine did not start")
    proc.send_signal(sig)
    _, _ = proc.communicate(timeout=10)  # reaps it and closes both pipes
    assert proc.returncode == 0
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/status", timeout=1)


def test_version_answers_expected_commit() -> None:
    out = subprocess.run(
        [str(prisma_client.BIN_DIR / "query-engine"), "--version"], capture_output=True, text=True, check=False
    )
    assert out.stdout.strip() == f"query-engine {prisma_client.ENGINE_COMMIT}"


def test_unreachable_database_fails_fast_with_message(tmp_path: Path) -> None:
    schema = Path(prisma_client.litellm_schema_path())
    env = {
        **os.environ,
        "PRISMA_DML_PATH": str(schema),
        "DATABASE_URL": "postgresql://postgres:secret-pw@127.0.0.1:1/nothing",
    }
    proc = subprocess.run(
        [str(prisma_client.BIN_DIR / "query-engine"), "-p", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert "engine.start_failed" in proc.stderr
    assert "secret-pw" not in proc.stderr


async def test_concurrent_queries_share_the_pool(db: Any) -> None:
    await asyncio.gather(*(make_account(db, f"c{i}@example.com") for i in range(40)))
    assert await db.account.count() == 40
