"""Disaster recovery: both databases emptied, `litemaas backup restore` brings users, subscriptions and keys back.

Ours is a database of its own; LiteLLM's is the session proxy's (a second proxy costs minutes
on a loaded machine): it is backed up, emptied and restored within this test, so the other
tests find it as it was (and it is restored from the backup if the test fails half-way). The
key is issued before the backup and never used before the restore, so the proxy can only
accept it by reading the restored database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from litemaas.backups import service
from litemaas.backups.errors import RestoreRefused
from litemaas.cli import app as cli
from litemaas.config import Settings, get_settings
from tests.backups.support import local_settings
from tests.support.backend import asgi_client, asyncpg_url, dev_login, unique
from tests.support.stack import CHAT, chat, create_database, db_rows, drop_database, sdk


@pytest.fixture
def litemaas_dr() -> Iterator[str]:
    """A migrated LiteMaaS database of this test's own (name)."""
    from litemaas.migrations import upgrade

    name = create_database("litemaas_dr")
    try:
        upgrade(asyncpg_url(name))
        yield name
    finally:
        drop_database(name)


def _empty(url: str) -> None:
    """The disaster: every table, sequence and type of the database gone."""
    with psycopg.connect(url.replace("postgresql+asyncpg://", "postgresql://"), autocommit=True) as db:
        db.execute("DROP SCHEMA public CASCADE")
        db.execute("CREATE SCHEMA public")


async def test_restore_into_emptied_databases_brings_back_users_subscriptions_and_keys(
    litellm_stack: Any, litemaas_dr: str, settings: Settings, make_app, tmp_path: Path, monkeypatch
):
    litemaas_url = asyncpg_url(litemaas_dr)
    litellm_url = litellm_stack.litellm_database_url
    litellm_name = litellm_url.rsplit("/", 1)[1]
    app_settings = local_settings(
        settings.model_copy(
            update={
                "database_url": litemaas_url,
                "proxy_url": litellm_stack.proxy_url,
                "master_key": SecretStr(litellm_stack.master_key),
            }
        ),
        litellm_url,
        tmp_path / "backups",
    )
    username = unique("dr-user")
    async with make_app(app_settings) as app:
        admin = await dev_login(asgi_client(app), unique("dr-admin"), "admin")
        assert (await admin.post("/api/v1/admin/models/sync")).status_code == 200
        user = await dev_login(asgi_client(app), username, "user")
        assert (await user.post("/api/v1/subscriptions", json={"model": CHAT})).status_code == 201
        created = await user.post("/api/v1/keys", json={"alias": "before-the-backup", "models": [CHAT]})
        assert created.status_code == 201, created.text
        key = created.json()["key"]

    config = service.config_from(app_settings)
    manifest, verification = service.create_backup(config)
    assert verification is not None and verification.ok

    _empty(litemaas_url)
    _empty(litellm_url)
    try:
        assert not db_rows(litemaas_url, "SELECT 1 FROM pg_tables WHERE schemaname = 'public'")
        # Without naming both databases, nothing is restored.
        with pytest.raises(RestoreRefused, match=litellm_name):
            service.restore_backup(config, manifest.id, confirm=[litemaas_dr])
        assert not db_rows(litemaas_url, "SELECT 1 FROM pg_tables WHERE schemaname = 'public'")
        result = _cli_restore(monkeypatch, app_settings, litemaas_dr, litellm_name)
    finally:
        # The session proxy's database must not stay empty for the tests after this one.
        if not db_rows(litellm_url, "SELECT 1 FROM pg_tables WHERE tablename = 'LiteLLM_VerificationToken'"):
            service.restore_backup(config, manifest.id, confirm=[litemaas_dr, litellm_name])
    assert result.exit_code == 0, result.output
    assert f"restore of {manifest.id}: OK" in result.output and "LITEMAAS_SALT_KEY" in result.output

    rows = db_rows(
        litemaas_url,
        "SELECT k.alias, s.status FROM users u JOIN api_keys k ON k.user_id = u.id "
        "JOIN subscriptions s ON s.user_id = u.id WHERE u.username = %s",
        username,
    )
    assert rows and rows[0][0] == "before-the-backup", rows
    # The key issued before the backup works at the proxy, which reads it from the restored database.
    reply = await chat(sdk(litellm_stack, key))
    assert reply.choices[0].message.content


def _cli_restore(monkeypatch: pytest.MonkeyPatch, app_settings: Settings, *databases: str) -> Any:
    env = {
        "LITEMAAS_DATABASE_URL": app_settings.database_url or "",
        "LITEMAAS_LITELLM_DATABASE_URL": app_settings.litellm_database_url or "",
        "LITEMAAS_BACKUP_STORAGE": "local",
        "LITEMAAS_BACKUP_LOCAL_DIR": str(app_settings.backup_local_dir),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = ["backup", "restore", "latest"]
    for database in databases:
        args += ["--yes-overwrite", database]
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, args, catch_exceptions=False)
    finally:
        get_settings.cache_clear()
