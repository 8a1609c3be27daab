"""Backup rules: create, list, verify, test restore, disaster restore and prune.

Everything here blocks (pg_dump, uploads), so the API runs it in a worker thread and the CLI
calls it directly. One backup operation runs at a time per deployment (an advisory lock on our
database). Nothing here logs or returns a credential: databases are ``Target``s whose password
only ever reaches a child process's environment.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from litemaas.audit import service as audit
from litemaas.audit.service import Actor
from litemaas.backups import repository
from litemaas.backups.errors import (
    BackupFailed,
    BackupNotFound,
    BackupsNotConfigured,
    InvalidBackupId,
    RestoreRefused,
)
from litemaas.backups.pgtools import PgTools, Target, find_tools, run_tool
from litemaas.backups.schemas import (
    BACKUP_ID_PATTERN,
    BackupDetail,
    BackupList,
    BackupSummary,
    DatabaseCheck,
    DatabaseDump,
    DatabaseRole,
    Manifest,
    PruneReport,
    RestoreReport,
    Verification,
    VerificationKind,
)
from litemaas.backups.storage import BackupStorage, storage_from
from litemaas.config import Settings
from litemaas.errors import LiteMaaSError
from litemaas.kit.time import utcnow

log = structlog.get_logger("litemaas.backups")

MANIFEST = "manifest.json"
VERIFICATION = "verification.json"
ROLES: tuple[DatabaseRole, ...] = ("litemaas", "litellm")
_ID = re.compile(BACKUP_ID_PATTERN)
_CHUNK = 1 << 20
_MONTHS = 12


@dataclass(frozen=True)
class BackupConfig:
    storage: BackupStorage
    # The databases a backup holds; a missing one is named when an operation needs it.
    databases: dict[DatabaseRole, Target]
    retention_months: int
    pg_bin_dir: Path | None
    timeout: int

    def target(self, role: DatabaseRole) -> Target:
        target = self.databases.get(role)
        if target is None:
            variable = "LITEMAAS_DATABASE_URL" if role == "litemaas" else "LITEMAAS_LITELLM_DATABASE_URL"
            raise BackupsNotConfigured(f"{variable} is not set: the {role} database cannot be backed up or restored")
        return target


def config_from(settings: Settings) -> BackupConfig:
    databases: dict[DatabaseRole, Target] = {}
    if settings.database_url:
        databases["litemaas"] = Target.from_url(settings.database_url)
    if settings.litellm_database_url:
        databases["litellm"] = Target.from_url(settings.litellm_database_url)
    return BackupConfig(
        storage=storage_from(settings),
        databases=databases,
        retention_months=settings.backup_retention_months,
        pg_bin_dir=settings.backup_pg_bin_dir,
        timeout=settings.backup_timeout_seconds,
    )


def check_id(backup_id: str) -> str:
    if not _ID.match(backup_id):
        raise InvalidBackupId("backup_id: expected an id such as 20260101T020000Z-1a2b3c", field="backup_id")
    return backup_id


def new_backup_id(now: datetime) -> str:
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for chunk in iter(lambda: source.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def _locked(config: BackupConfig) -> Iterator[None]:
    target = config.databases.get("litemaas")
    with repository.operation_lock(target) if target is not None else nullcontext():
        yield


def _tools_for(config: BackupConfig, target: Target) -> tuple[PgTools, str]:
    major, full = repository.server_version(target)
    return find_tools(major, config.pg_bin_dir), full


# --- create -------------------------------------------------------------------------------


def _dump(config: BackupConfig, role: DatabaseRole, workdir: Path) -> DatabaseDump:
    target = config.target(role)
    tools, server = _tools_for(config, target)
    path = workdir / f"{role}.dump"
    with repository.exported_snapshot(target) as (snapshot, counts, revision):
        run_tool(
            [str(tools.pg_dump), "--format=custom", "--no-password", f"--snapshot={snapshot}", f"--file={path}"],
            target,
            timeout=config.timeout,
            what=f"pg_dump of the {role} database",
        )
    return DatabaseDump(
        role=role,
        database=target.dbname,
        file=path.name,
        size=path.stat().st_size,
        sha256=_sha256(path),
        server_version=server,
        pg_dump_version=tools.version,
        tables=counts,
        snapshot_consistent=True,
        alembic_revision=revision if role == "litemaas" else None,
    )


def create_backup(config: BackupConfig, *, verify: bool = True) -> tuple[Manifest, Verification | None]:
    """Dump both databases, upload the dumps and then the manifest; with ``verify``, check the upload."""
    for role in ROLES:
        config.target(role)
    started, clock = utcnow(), time.monotonic()
    backup_id = new_backup_id(started)
    with _locked(config), tempfile.TemporaryDirectory(prefix="litemaas-backup-") as tmp:
        workdir = Path(tmp)
        dumps = [_dump(config, role, workdir) for role in ROLES]
        manifest = Manifest(
            id=backup_id,
            created_at=started,
            duration_seconds=0.0,
            litemaas_version=_version("litemaas"),
            litellm_version=_version("litellm"),
            databases=dumps,
        )
        try:
            for dump in dumps:
                config.storage.put_file(backup_id, dump.file, workdir / dump.file)
            manifest.duration_seconds = round(time.monotonic() - clock, 3)
            config.storage.put_bytes(backup_id, MANIFEST, manifest.model_dump_json(indent=2).encode())
        except BaseException:
            # No manifest, no backup: what was uploaded is removed again.
            _delete_quietly(config.storage, backup_id)
            raise
    log.info("backup.create.done", backup_id=backup_id, size=manifest.size, seconds=manifest.duration_seconds)
    verification = verify_backup(config, backup_id, restore=False) if verify else None
    return manifest, verification


def _delete_quietly(storage: BackupStorage, backup_id: str) -> None:
    try:
        storage.delete_backup(backup_id)
    except LiteMaaSError:
        log.warning("backup.cleanup_failed", backup_id=backup_id)


# --- list / read --------------------------------------------------------------------------


def _parse_manifest(backup_id: str, data: bytes) -> Manifest:
    """The stored manifest, checked: its names become local paths, so a tampered one is refused."""
    try:
        manifest = Manifest.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BackupFailed(f"the manifest of {backup_id} is not valid ({where}: {first['msg']})") from None
    if manifest.id != backup_id:
        raise BackupFailed(f"the manifest of {backup_id} names another backup ({manifest.id})")
    return manifest


def read_manifest(config: BackupConfig, backup_id: str) -> Manifest:
    data = config.storage.get_bytes(check_id(backup_id), MANIFEST)
    if data is None:
        raise BackupNotFound(f"no backup {backup_id} in {config.storage.description}")
    return _parse_manifest(backup_id, data)


def read_verification(config: BackupConfig, backup_id: str) -> Verification | None:
    data = config.storage.get_bytes(backup_id, VERIFICATION)
    return Verification.model_validate_json(data) if data is not None else None


def _manifests(config: BackupConfig) -> list[Manifest]:
    manifests = []
    for backup_id in config.storage.list_ids():
        if not _ID.match(backup_id):
            continue
        data = config.storage.get_bytes(backup_id, MANIFEST)
        if data is None:
            continue  # incomplete: being written, or a failed upload
        try:
            manifests.append(_parse_manifest(backup_id, data))
        except BackupFailed as exc:
            log.warning("backup.manifest.invalid", backup_id=backup_id, error=exc.message)
    return sorted(manifests, key=lambda m: (m.created_at, m.id), reverse=True)


def list_backups(config: BackupConfig) -> BackupList:
    items = [
        BackupSummary(
            id=m.id,
            created_at=m.created_at,
            size=m.size,
            databases=[d.role for d in m.databases],
            verification=read_verification(config, m.id),
        )
        for m in _manifests(config)
    ]
    return BackupList(
        storage=config.storage.description,
        retention_months=config.retention_months,
        total=len(items),
        items=items,
    )


def get_backup(config: BackupConfig, backup_id: str) -> BackupDetail:
    manifest = read_manifest(config, backup_id)
    return BackupDetail(manifest=manifest, verification=read_verification(config, manifest.id))


def resolve_id(config: BackupConfig, backup_id: str) -> str:
    """``latest`` names the newest complete backup; anything else must be a backup id."""
    if backup_id != "latest":
        return check_id(backup_id)
    manifests = _manifests(config)
    if not manifests:
        raise BackupNotFound(f"no backup in {config.storage.description}")
    return manifests[0].id


# --- verify, test restore, restore ----------------------------------------------------------


def _fetch_and_check(config: BackupConfig, manifest: Manifest, dump: DatabaseDump, workdir: Path) -> DatabaseCheck:
    """Download one dump; its size and sha256 must match the manifest and pg_restore must read its TOC."""
    check = DatabaseCheck(role=dump.role)
    path = workdir / dump.file
    config.storage.get_file(manifest.id, dump.file, path)
    size, digest = path.stat().st_size, _sha256(path)
    check.checksum_ok = size == dump.size and digest == dump.sha256
    if not check.checksum_ok:
        check.error = (
            f"checksum mismatch: manifest says {dump.size} bytes sha256 {dump.sha256[:12]}..., "
            f"found {size} bytes sha256 {digest[:12]}..."
        )
        return check
    try:
        tools = find_tools(_major(dump.pg_dump_version), config.pg_bin_dir)
        listing = run_tool(
            [str(tools.pg_restore), "--list", str(path)],
            None,
            timeout=config.timeout,
            what=f"pg_restore --list of {dump.file}",
        )
        if "TABLE DATA" not in listing and dump.tables:
            check.error = f"{dump.file}: the archive lists no table data"
            return check
        # The table of contents is at the start of the file; a truncated or damaged data block
        # shows only when every block is read and decompressed, as a restore would.
        run_tool(
            [str(tools.pg_restore), f"--file={os.devnull}", str(path)],
            None,
            timeout=config.timeout,
            what=f"pg_restore read of {dump.file}",
        )
        check.readable = True
    except LiteMaaSError as exc:
        check.error = exc.message
    return check


def _major(version: str) -> int:
    match = re.match(r"(\d+)", version)
    return int(match.group(1)) if match else 0


def _compare(check: DatabaseCheck, expected: dict[str, int], found: dict[str, int]) -> None:
    mismatches = [
        f"{table}: expected {count}, found {found.get(table, 'no table')}"
        for table, count in sorted(expected.items())
        if found.get(table) != count
    ]
    mismatches += [f"{table}: not in the backup, found {found[table]}" for table in sorted(set(found) - set(expected))]
    check.mismatches = mismatches
    check.counts_ok = not mismatches
    check.tables_checked = len(found)
    check.rows_checked = sum(found.values())


def _restore_args(tools: PgTools, database: str, path: Path, *, clean: bool) -> list[str]:
    args = [str(tools.pg_restore), "--no-owner", "--no-privileges", "--exit-on-error", "--no-password"]
    if clean:
        args += ["--clean", "--if-exists", "--single-transaction"]
    return [*args, f"--dbname={database}", str(path)]


def _test_restore(config: BackupConfig, backup_id: str, dump: DatabaseDump, path: Path, check: DatabaseCheck) -> None:
    """Restore into a scratch database on the same server, compare every table's count, drop it."""
    server = config.target(dump.role)
    scratch = f"lm_restoretest_{dump.role}_{secrets.token_hex(4)}"
    try:
        tools, _ = _tools_for(config, server)
        repository.create_database(server, scratch)
        try:
            run_tool(
                _restore_args(tools, scratch, path, clean=False),
                server.with_database(scratch),
                timeout=config.timeout,
                what=f"test restore of {backup_id}/{dump.file}",
            )
            check.restored = True
            _compare(check, dump.tables, repository.count_rows(server.with_database(scratch)))
        finally:
            repository.drop_database(server, scratch)
    except LiteMaaSError as exc:
        check.restored = check.restored or False
        check.counts_ok = False if check.counts_ok is None else check.counts_ok
        check.error = exc.message


def verify_backup(config: BackupConfig, backup_id: str, *, restore: bool) -> Verification:
    """Checksums and readability of every dump; with ``restore``, a test restore that compares row counts.

    The result is stored next to the backup (``verification.json``) and returned; a backup is
    good only when every check of every database passed.
    """
    manifest = read_manifest(config, backup_id)
    started, clock = utcnow(), time.monotonic()
    kind: VerificationKind = "test_restore" if restore else "verify"
    checks: list[DatabaseCheck] = []
    with _locked(config), tempfile.TemporaryDirectory(prefix="litemaas-verify-") as tmp:
        for dump in manifest.databases:
            try:
                check = _fetch_and_check(config, manifest, dump, Path(tmp))
            except LiteMaaSError as exc:
                check = DatabaseCheck(role=dump.role, error=exc.message)
            if restore and check.checksum_ok and check.readable:
                _test_restore(config, manifest.id, dump, Path(tmp) / dump.file, check)
            elif restore:
                check.restored, check.counts_ok = False, False
            (Path(tmp) / dump.file).unlink(missing_ok=True)
            checks.append(check)
    verification = _record(config, manifest, kind, started, clock, checks)
    log.info(f"backup.{kind}.done", backup_id=manifest.id, ok=verification.ok)
    return verification


def _record(  # noqa: PLR0917  one private call site per operation, all arguments required
    config: BackupConfig,
    manifest: Manifest,
    kind: VerificationKind,
    started: datetime,
    clock: float,
    checks: list[DatabaseCheck],
) -> Verification:
    ok = bool(checks) and all(
        c.checksum_ok and c.readable and c.error is None and c.restored is not False and c.counts_ok is not False
        for c in checks
    )
    verification = Verification(
        backup_id=manifest.id,
        kind=kind,
        ok=ok,
        started_at=started,
        duration_seconds=round(time.monotonic() - clock, 3),
        databases=checks,
    )
    config.storage.put_bytes(manifest.id, VERIFICATION, verification.model_dump_json(indent=2).encode())
    return verification


def restore_backup(
    config: BackupConfig, backup_id: str, *, confirm: Sequence[str], roles: Sequence[DatabaseRole] = ROLES
) -> RestoreReport:
    """Disaster recovery: replace the configured databases with the backup's content.

    Each database restored must be named in ``confirm`` (``--yes-overwrite <name>``). Dumps are
    checked first (checksum, readability); nothing is touched if one fails. Each database is
    restored in one transaction (``--single-transaction``), then its row counts are compared.
    """
    manifest = read_manifest(config, backup_id)
    dumps = [d for d in manifest.databases if d.role in roles]
    if not dumps:
        raise BackupFailed(f"backup {manifest.id} holds none of the databases asked for")
    for dump in dumps:
        name = config.target(dump.role).dbname
        if name not in confirm:
            raise RestoreRefused(
                f"restoring {manifest.id} overwrites the {dump.role} database {name!r}: "
                f"confirm with --yes-overwrite {name}",
                field="yes_overwrite",
            )
    started, clock = utcnow(), time.monotonic()
    checks: list[DatabaseCheck] = []
    with _locked(config), tempfile.TemporaryDirectory(prefix="litemaas-restore-") as tmp:
        for dump in dumps:
            check = _fetch_and_check(config, manifest, dump, Path(tmp))
            if not (check.checksum_ok and check.readable):
                raise BackupFailed(f"{manifest.id}/{dump.file} is not usable, nothing was restored: {check.error}")
            checks.append(check)
        for dump, check in zip(dumps, checks, strict=True):
            target = config.target(dump.role)
            tools, _ = _tools_for(config, target)
            run_tool(
                _restore_args(tools, target.dbname, Path(tmp) / dump.file, clean=True),
                target,
                timeout=config.timeout,
                what=f"restore of {manifest.id}/{dump.file} into {target.dbname}",
            )
            check.restored = True
            _compare(check, dump.tables, repository.count_rows(target))
    verification = _record(config, manifest, "restore", started, clock, checks)
    log.info("backup.restore.done", backup_id=manifest.id, databases=[d.role for d in dumps], ok=verification.ok)
    return RestoreReport(backup_id=manifest.id, restored=[d.role for d in dumps], verification=verification)


# --- prune ----------------------------------------------------------------------------------


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the 31st becomes the month's last day)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, _MONTHS)
    month += 1
    next_month = datetime(year + month // _MONTHS, month % _MONTHS + 1, 1, tzinfo=moment.tzinfo)
    last_day = (next_month - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def _id_time(backup_id: str) -> datetime | None:
    try:
        return datetime.strptime(backup_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def prune(config: BackupConfig, *, dry_run: bool, now: datetime | None = None) -> PruneReport:
    """Delete backups older than the retention window; the newest backup is always kept.

    A backup is kept when its manifest's ``created_at`` is at or after now minus
    ``retention_months`` calendar months. Incomplete backups (no manifest) are judged by the
    time in their id.
    """
    now = now or utcnow()
    cutoff = months_before(now, config.retention_months)
    ages: dict[str, datetime] = {}
    for backup_id in config.storage.list_ids():
        if not _ID.match(backup_id):
            continue
        data = config.storage.get_bytes(backup_id, MANIFEST)
        try:
            created = _parse_manifest(backup_id, data).created_at if data is not None else _id_time(backup_id)
        except BackupFailed:
            created = _id_time(backup_id)
        if created is not None:
            ages[backup_id] = created
    newest = max(ages, key=lambda i: (ages[i], i)) if ages else None
    deleted = sorted(i for i, created in ages.items() if created < cutoff and i != newest)
    kept = sorted(set(ages) - set(deleted))
    if not dry_run:
        with _locked(config):
            for backup_id in deleted:
                config.storage.delete_backup(backup_id)
                log.info("backup.prune.deleted", backup_id=backup_id, created_at=ages[backup_id].isoformat())
    return PruneReport(
        cutoff=cutoff, retention_months=config.retention_months, dry_run=dry_run, kept=kept, deleted=deleted
    )


# --- from a request: the blocking work in a worker thread, audited ------------------------------
# Synchronous on purpose: the answer carries the result, no job state has to be shared between
# replicas, and the result also stays next to the backup (manifest, verification.json). The
# measured backup of a large deployment takes well under the route timeout (600 s); the CLI
# and the CronJob have no such limit.


async def create_for(session: AsyncSession, config: BackupConfig, actor: Actor, *, verify: bool = True) -> BackupDetail:
    manifest, verification = await run_in_threadpool(lambda: create_backup(config, verify=verify))
    after = {"size": manifest.size, "verified": verification.ok if verification else None}
    await audit.record(
        session, actor=actor, action="backup.create", target_type="backup", target_id=manifest.id, after=after
    )
    return BackupDetail(manifest=manifest, verification=verification)


async def verify_for(
    session: AsyncSession, config: BackupConfig, actor: Actor, backup_id: str, *, restore: bool
) -> Verification:
    verification = await run_in_threadpool(lambda: verify_backup(config, check_id(backup_id), restore=restore))
    await audit.record(
        session,
        actor=actor,
        action=f"backup.{verification.kind}",
        target_type="backup",
        target_id=verification.backup_id,
        after={"ok": verification.ok},
    )
    return verification


async def prune_for(session: AsyncSession, config: BackupConfig, actor: Actor, *, dry_run: bool) -> PruneReport:
    report = await run_in_threadpool(lambda: prune(config, dry_run=dry_run))
    if not dry_run:
        await audit.record(
            session,
            actor=actor,
            action="backup.prune",
            target_type="backup",
            target_id=None,
            after={"deleted": report.deleted, "kept": len(report.kept)},
        )
    return report


async def list_for(config: BackupConfig) -> BackupList:
    return await run_in_threadpool(list_backups, config)


async def detail_for(config: BackupConfig, backup_id: str) -> BackupDetail:
    return await run_in_threadpool(get_backup, config, check_id(backup_id))
