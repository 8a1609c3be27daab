"""Backups with real pg_dump/pg_restore against real databases, to a directory and to S3 (moto's server).

create → list → test restore (counts match) → prune keeps exactly the retention window; a
damaged or truncated dump is never reported as good; the CLI, the API and the typed client.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from litemaas.backups import service
from litemaas.backups.errors import BackupsNotConfigured, InvalidBackupId
from litemaas.backups.service import config_from, months_before
from litemaas.cli import app as cli
from litemaas.config import Settings, get_settings
from tests.backups.support import MOTO_SECRET, MotoS3, backdated_copy, local_settings, s3_settings
from tests.support.stack import db_rows


@pytest.fixture(params=["local", "s3"])
def storage_settings(request, settings: Settings, litellm_database: str, backup_dir: Path, moto_s3: MotoS3) -> Settings:
    if request.param == "local":
        return local_settings(settings, litellm_database, backup_dir)
    return s3_settings(settings, litellm_database, moto_s3, moto_s3.new_bucket())


async def _some_users(make_app) -> None:
    # Logging in creates users and sessions: rows the backup must hold and count. (No LiteLLM
    # proxy is needed for that: the backend alone, on the session's database.)
    from tests.support.backend import asgi_client, dev_login, unique

    async with make_app() as app:
        for role in ("user", "admin"):
            await dev_login(asgi_client(app), unique(f"backup-{role}"), role)


@pytest.mark.asyncio
async def test_create_list_test_restore_prune(storage_settings: Settings, make_app, tmp_path: Path, moto_s3: MotoS3):
    await _some_users(make_app)
    config = config_from(storage_settings)

    manifest, verification = service.create_backup(config)
    assert verification is not None and verification.ok, verification
    assert [d.role for d in manifest.databases] == ["litemaas", "litellm"]
    ours = manifest.databases[0]
    assert ours.tables["public.users"] >= 2 and ours.alembic_revision
    assert ours.snapshot_consistent and len(ours.sha256) == 64 and ours.size > 0
    assert manifest.databases[1].tables  # LiteLLM's schema, migrated
    assert ours.server_version.split(".")[0] == ours.pg_dump_version.split(".")[0]

    listing = service.list_backups(config)
    assert [i.id for i in listing.items] == [manifest.id]
    assert listing.items[0].verification is not None and listing.items[0].verification.kind == "verify"

    restored = service.verify_backup(config, manifest.id, restore=True)
    assert restored.ok and restored.kind == "test_restore"
    for check in restored.databases:
        assert check.restored and check.counts_ok and not check.mismatches
        dump = next(d for d in manifest.databases if d.role == check.role)
        assert check.tables_checked == len(dump.tables) and check.rows_checked == sum(dump.tables.values())
    # The scratch databases are gone again.
    assert not db_rows(
        storage_settings.database_url or "", "SELECT 1 FROM pg_database WHERE datname LIKE 'lm_restoretest_%%'"
    )
    assert service.list_backups(config).items[0].verification.kind == "test_restore"  # type: ignore[union-attr]

    if storage_settings.backup_storage == "s3":
        s3 = moto_s3.client()
        key = f"prod/litemaas/{manifest.id}/litemaas.dump"
        assert s3.head_object(Bucket=storage_settings.backup_s3_bucket, Key=key)["ServerSideEncryption"] == "AES256"

    # Retention: 12 months back from "now", to the second; older copies go, the window stays.
    now = datetime.now(UTC).replace(microsecond=0)
    cutoff = months_before(now, 12)
    inside = backdated_copy(config, manifest.id, cutoff + timedelta(days=1), tmp_path)
    at_cutoff = backdated_copy(config, manifest.id, cutoff, tmp_path)
    outside = backdated_copy(config, manifest.id, cutoff - timedelta(seconds=1), tmp_path)
    ancient = backdated_copy(config, manifest.id, now - timedelta(days=900), tmp_path)
    assert len(service.list_backups(config).items) == 5

    dry = service.prune(config, dry_run=True, now=now)
    assert sorted(dry.deleted) == sorted([outside, ancient]) and dry.cutoff == cutoff
    assert len(service.list_backups(config).items) == 5  # a dry run deletes nothing

    report = service.prune(config, dry_run=False, now=now)
    assert sorted(report.deleted) == sorted([outside, ancient])
    assert sorted(report.kept) == sorted([manifest.id, inside, at_cutoff])
    assert sorted(i.id for i in service.list_backups(config).items) == sorted([manifest.id, inside, at_cutoff])


def test_months_before_keeps_calendar_months():
    assert months_before(datetime(2026, 3, 31, 2, 0, tzinfo=UTC), 1) == datetime(2026, 2, 28, 2, 0, tzinfo=UTC)
    assert months_before(datetime(2026, 12, 4, tzinfo=UTC), 12) == datetime(2025, 12, 4, tzinfo=UTC)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 13) == datetime(2024, 12, 15, tzinfo=UTC)


def test_prune_never_deletes_the_newest_backup(settings: Settings, litellm_database: str, backup_dir: Path, tmp_path):
    config = config_from(local_settings(settings, litellm_database, backup_dir))
    manifest, _ = service.create_backup(config, verify=False)
    old = backdated_copy(config, manifest.id, datetime(2020, 1, 1, tzinfo=UTC), tmp_path)
    config.storage.delete_backup(manifest.id)
    report = service.prune(config, dry_run=False)
    # The only backup left is years old: kept anyway, an expired backup beats none.
    assert report.deleted == [] and report.kept == [old]


def _damage(path: Path, *, truncate: bool) -> None:
    data = path.read_bytes()
    if truncate:
        path.write_bytes(data[: len(data) * 2 // 3])
    else:
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 64]) + data[middle + 64 :])


@pytest.mark.parametrize("truncate", [False, True], ids=["corrupted", "truncated"])
@pytest.mark.parametrize("manifest_agrees", [False, True], ids=["manifest-as-made", "manifest-rewritten"])
@pytest.mark.asyncio
async def test_a_damaged_dump_is_never_reported_good(
    settings: Settings, litellm_database: str, backup_dir: Path, make_app, truncate: bool, manifest_agrees: bool
):
    """Damage shows as a checksum mismatch; with a manifest rewritten to match, pg_restore still finds it."""
    await _some_users(make_app)
    config = config_from(local_settings(settings, litellm_database, backup_dir))
    manifest, _ = service.create_backup(config, verify=False)
    dump_path = backup_dir / manifest.id / "litemaas.dump"
    _damage(dump_path, truncate=truncate)
    if manifest_agrees:
        import hashlib

        manifest.databases[0].sha256 = hashlib.sha256(dump_path.read_bytes()).hexdigest()
        manifest.databases[0].size = dump_path.stat().st_size
        config.storage.put_bytes(manifest.id, service.MANIFEST, manifest.model_dump_json().encode())

    verified = service.verify_backup(config, manifest.id, restore=False)
    assert not verified.ok
    ours = verified.databases[0]
    assert ours.error
    assert (not ours.checksum_ok) if not manifest_agrees else (ours.checksum_ok and not ours.readable)
    assert verified.databases[1].checksum_ok and verified.databases[1].readable  # LiteLLM's dump is fine

    tested = service.verify_backup(config, manifest.id, restore=True)
    assert not tested.ok and tested.databases[0].restored is False and tested.databases[0].counts_ok is False
    state = service.list_backups(config).items[0].verification
    assert state is not None and not state.ok and state.kind == "test_restore"


def test_not_configured_and_bad_ids(settings: Settings, litellm_database: str, backup_dir: Path):
    with pytest.raises(BackupsNotConfigured, match="LITEMAAS_BACKUP_STORAGE"):
        config_from(settings)
    with pytest.raises(BackupsNotConfigured, match="LITEMAAS_BACKUP_LOCAL_DIR"):
        config_from(settings.model_copy(update={"backup_storage": "local"}))
    config = config_from(local_settings(settings, litellm_database, backup_dir))
    with pytest.raises(InvalidBackupId):
        service.verify_backup(config, "../../etc", restore=False)
    without_litellm = config_from(
        local_settings(settings, litellm_database, backup_dir).model_copy(update={"litellm_database_url": None})
    )
    with pytest.raises(BackupsNotConfigured, match="LITEMAAS_LITELLM_DATABASE_URL"):
        service.create_backup(without_litellm)


# --- the command ---------------------------------------------------------------------------


@pytest.fixture
def backup_cli(monkeypatch, settings: Settings, litellm_database: str, moto_s3: MotoS3):
    bucket = moto_s3.new_bucket()
    env = {
        "LITEMAAS_DATABASE_URL": settings.database_url or "",
        "LITEMAAS_LITELLM_DATABASE_URL": litellm_database,
        "LITEMAAS_BACKUP_STORAGE": "s3",
        "LITEMAAS_BACKUP_S3_ENDPOINT_URL": moto_s3.endpoint,
        "LITEMAAS_BACKUP_S3_BUCKET": bucket,
        "LITEMAAS_BACKUP_S3_ACCESS_KEY_ID": "test-backup-key-id",
        "LITEMAAS_BACKUP_S3_SECRET_ACCESS_KEY": MOTO_SECRET,
        "LITEMAAS_LOG_JSON": "true",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(cli, ["backup", *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        # Never a credential in what the command prints (stdout and logs alike).
        assert MOTO_SECRET not in result.output
        return result

    yield run
    get_settings.cache_clear()


def test_cli_create_list_verify_test_restore_prune(backup_cli):
    created = json.loads(backup_cli("create", "--json").stdout.strip().splitlines()[-1])
    backup_id = created["manifest"]["id"]
    assert created["verification"]["ok"] is True

    listed = json.loads(backup_cli("list", "--json").stdout.strip().splitlines()[-1])
    assert [i["id"] for i in listed["items"]] == [backup_id] and listed["retention_months"] == 12

    assert "OK" in backup_cli("verify", backup_id).stdout
    tested = backup_cli("test-restore", "latest").stdout
    assert f"test_restore of {backup_id}: OK" in tested and "row counts match" in tested

    pruned = json.loads(backup_cli("prune", "--dry-run", "--json").stdout.strip().splitlines()[-1])
    assert pruned["deleted"] == [] and pruned["kept"] == [backup_id] and pruned["dry_run"] is True

    # A disaster restore without naming the database it overwrites is refused, nothing touched.
    refused = backup_cli("restore", backup_id, "--yes-overwrite", "not-this-one", code=2)
    assert "--yes-overwrite" in refused.output
    backup_cli("verify", "20200101T000000Z-abcdef", code=1)


def test_cli_without_storage_says_which_variable(monkeypatch, settings: Settings):
    monkeypatch.setenv("LITEMAAS_DATABASE_URL", settings.database_url or "")
    monkeypatch.delenv("LITEMAAS_BACKUP_STORAGE", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["backup", "list"], catch_exceptions=False)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "LITEMAAS_BACKUP_STORAGE" in result.output


# --- the API -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_api_roles_create_verify_and_audit(make_app, settings, litellm_database, backup_dir):
    from tests.support.backend import asgi_client, dev_login, unique

    app_settings = local_settings(settings, litellm_database, backup_dir)
    async with make_app(app_settings) as app:
        admin = await dev_login(asgi_client(app), unique("backup-admin"), "admin")
        readonly = await dev_login(asgi_client(app), unique("backup-ro"), "admin_readonly")
        user = await dev_login(asgi_client(app), unique("backup-user"), "user")

        assert (await user.get("/api/v1/admin/backups")).status_code == 403
        assert (await readonly.post("/api/v1/admin/backups", json={})).status_code == 403
        created = await admin.post("/api/v1/admin/backups", json={}, timeout=600)
        assert created.status_code == 201, created.text
        backup_id = created.json()["manifest"]["id"]
        assert created.json()["verification"]["ok"] is True

        listed = await readonly.get("/api/v1/admin/backups")
        assert listed.status_code == 200 and listed.json()["items"][0]["id"] == backup_id
        assert (
            await readonly.post(f"/api/v1/admin/backups/{backup_id}/verify", json={"restore": True})
        ).status_code == 403

        tested = await admin.post(f"/api/v1/admin/backups/{backup_id}/verify", json={"restore": True}, timeout=600)
        assert tested.status_code == 200 and tested.json()["ok"] is True and tested.json()["kind"] == "test_restore"
        detail = (await readonly.get(f"/api/v1/admin/backups/{backup_id}")).json()
        assert detail["verification"]["kind"] == "test_restore"
        assert "password" not in json.dumps(detail).lower()

        bad = await admin.post("/api/v1/admin/backups/..%2F..%2Fetc/verify", json={})
        assert bad.status_code in (400, 404)
        missing = await admin.get("/api/v1/admin/backups/20200101T000000Z-abcdef")
        assert missing.status_code == 404 and missing.json()["error"] == "backup_not_found"
        assert (await admin.post("/api/v1/admin/backups", json={"verify": "maybe"})).status_code == 422

    actions = {
        r[0] for r in db_rows(settings.database_url, "SELECT action FROM audit_events WHERE target_id = %s", backup_id)
    }
    assert actions == {"backup.create", "backup.test_restore"}

    async with make_app(settings) as app:
        admin = await dev_login(asgi_client(app), unique("backup-admin"), "admin")
        unconfigured = await admin.get("/api/v1/admin/backups")
        assert unconfigured.status_code == 503 and "LITEMAAS_BACKUP_STORAGE" in unconfigured.json()["detail"]


def test_typed_client_against_a_running_backend(settings, litellm_database, backup_dir):
    import httpx

    from litemaas.app import create_app
    from litemaas.client import LiteMaaSClient
    from tests.support.backend import free_port, unique
    from tests.web.portal_support import serve_app

    port = free_port()
    app = create_app(local_settings(settings, litellm_database, backup_dir), configure_logs=False)
    with serve_app(app, port) as url, httpx.Client(base_url=url, timeout=30) as browser:
        assert browser.post("/auth/dev", data={"username": unique("client-admin"), "role": "admin"}).status_code == 303
        browser.headers["X-CSRF-Token"] = browser.cookies["litemaas_csrf"]
        token = browser.post("/api/v1/admin/tokens", json={"name": unique("backups"), "role": "admin"}).json()["token"]
        with LiteMaaSClient(url, token) as client:
            created = client.create_backup()
            backup_id = created["manifest"]["id"]
            assert client.list_backups()["items"][0]["id"] == backup_id
            assert client.verify_backup(backup_id, restore=True)["ok"] is True
            assert client.get_backup(backup_id)["verification"]["kind"] == "test_restore"
            assert client.prune_backups(dry_run=True)["deleted"] == []
    assert os.listdir(backup_dir) == [backup_id]


def test_a_tool_printing_raw_bytes_is_a_clear_failure_not_a_crash():
    """A damaged archive makes pg_restore echo its bytes on stderr: reported, never a UnicodeDecodeError."""
    import sys

    from litemaas.backups.errors import BackupFailed
    from litemaas.backups.pgtools import run_tool

    script = "import sys; sys.stderr.buffer.write(b'dependency ID \\xcd\\xcd\\xc6\\xff out of range'); sys.exit(1)"
    with pytest.raises(BackupFailed) as failed:
        run_tool([sys.executable, "-c", script], None, timeout=30, what="pg_restore --list of x.dump")
    assert "pg_restore --list of x.dump failed (exit 1)" in failed.value.message
    assert "out of range" in failed.value.message


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("file", "/etc/passwd", "databases.0.file"),
        ("file", "../../victim", "databases.0.file"),
        ("file", "litellm.dump", "not the litemaas dump"),
        ("id", "../elsewhere", "id"),
    ],
)
@pytest.mark.asyncio
async def test_a_tampered_manifest_is_refused_not_followed(
    settings: Settings, litellm_database: str, backup_dir: Path, make_app, field: str, value: str, named: str
):
    """The manifest's names become local paths: someone who can write the bucket must not steer them."""
    from litemaas.backups.errors import BackupFailed

    await _some_users(make_app)
    config = config_from(local_settings(settings, litellm_database, backup_dir))
    manifest, _ = service.create_backup(config, verify=False)
    stored = json.loads((backup_dir / manifest.id / service.MANIFEST).read_bytes())
    if field == "file":
        stored["databases"][0]["file"] = value
    else:
        stored["id"] = value
    config.storage.put_bytes(manifest.id, service.MANIFEST, json.dumps(stored).encode())

    with pytest.raises(BackupFailed) as refused:
        service.verify_backup(config, manifest.id, restore=False)
    assert manifest.id in refused.value.message and named in refused.value.message
    # Listing and pruning carry on past it instead of failing.
    assert manifest.id not in {b.id for b in service.list_backups(config).items}
    assert manifest.id in service.prune(config, dry_run=True).kept
