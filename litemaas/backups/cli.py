"""``litemaas backup``: create, list, verify, test-restore, restore, prune (the monthly CronJob runs create + prune)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

if TYPE_CHECKING:
    from litemaas.backups.schemas import Verification
    from litemaas.backups.service import BackupConfig

T = TypeVar("T")
_KIB = 1024

app = typer.Typer(
    help="Backups of both databases (pg_dump custom format + manifest) to S3 or a directory.", no_args_is_help=True
)

Json = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")]
BackupId = Annotated[str, typer.Argument(help="A backup id, or 'latest'.")]


def _run(work: Callable[[BackupConfig], T]) -> T:
    """Settings → config → work; one line and exit 2 for configuration, exit 1 for a failed operation."""
    from pydantic import ValidationError

    from litemaas.backups.errors import BackupsNotConfigured, RestoreRefused
    from litemaas.backups.service import config_from
    from litemaas.config import get_settings
    from litemaas.errors import LiteMaaSError
    from litemaas.logging import configure_logging

    try:
        settings = get_settings()
    except ValidationError as exc:
        typer.echo(f"invalid settings: {exc.errors()[0]['msg']}", err=True)
        raise typer.Exit(2) from None
    # Logs on stderr: stdout carries only the report.
    configure_logging(settings.log_level, settings.log_json, stream="stderr")
    try:
        return work(config_from(settings))
    except (BackupsNotConfigured, RestoreRefused) as exc:
        # Configuration and a missing confirmation are usage errors: exit 2, like a bad option.
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    except LiteMaaSError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB"):
        if value < _KIB:
            return f"{value:.1f} {unit}" if unit != "B" else f"{n} B"
        value /= _KIB
    return f"{value:.1f} GiB"


def _report(verification: Verification) -> str:
    lines = [f"{verification.kind} of {verification.backup_id}: {'OK' if verification.ok else 'FAILED'}"]
    for check in verification.databases:
        parts = [f"checksum {'ok' if check.checksum_ok else 'BAD'}", f"readable {'yes' if check.readable else 'NO'}"]
        if check.restored is not None:
            parts.append(f"restored {'yes' if check.restored else 'NO'}")
        if check.counts_ok is not None:
            verdict = "match" if check.counts_ok else "DIFFER"
            parts.append(f"row counts {verdict} ({check.tables_checked} tables, {check.rows_checked} rows)")
        lines.append(f"  {check.role}: " + ", ".join(parts))
        lines += [f"    {m}" for m in check.mismatches[:20]]
        if check.error:
            lines.append(f"    error: {check.error}")
    return "\n".join(lines)


@app.command("create")
def create(
    no_verify: Annotated[bool, typer.Option("--no-verify", help="Skip checking the upload.")] = False,
    as_json: Json = False,
) -> None:
    """Dump both databases and store the dumps with their manifest (then verify the upload)."""
    from litemaas.backups import service

    manifest, verification = _run(lambda config: service.create_backup(config, verify=not no_verify))
    if as_json:
        payload = {"manifest": manifest.model_dump(mode="json"), "verification": None}
        if verification is not None:
            payload["verification"] = verification.model_dump(mode="json")
        import json

        typer.echo(json.dumps(payload))
    else:
        typer.echo(f"backup {manifest.id}: {_size(manifest.size)} in {manifest.duration_seconds:.1f} s")
        if verification is not None:
            typer.echo(_report(verification))
    if verification is not None and not verification.ok:
        raise typer.Exit(1)


@app.command("list")
def list_(as_json: Json = False) -> None:
    """Every complete backup, newest first, with its latest verification."""
    from litemaas.backups import service

    listing = _run(service.list_backups)
    if as_json:
        typer.echo(listing.model_dump_json())
        return
    typer.echo(f"{listing.total} backup(s) in {listing.storage} (retention {listing.retention_months} months)")
    for item in listing.items:
        state = "never verified"
        if item.verification is not None:
            state = f"{item.verification.kind} {'ok' if item.verification.ok else 'FAILED'}"
        typer.echo(f"{item.id}  {item.created_at:%Y-%m-%d %H:%M}  {_size(item.size):>10}  {state}")


def _verify(backup_id: str, *, restore: bool, as_json: bool) -> None:
    from litemaas.backups import service

    verification = _run(
        lambda config: service.verify_backup(config, service.resolve_id(config, backup_id), restore=restore)
    )
    typer.echo(verification.model_dump_json() if as_json else _report(verification))
    if not verification.ok:
        raise typer.Exit(1)


@app.command("verify")
def verify(
    backup_id: BackupId,
    restore: Annotated[
        bool, typer.Option("--restore", help="Also restore into scratch databases and compare row counts.")
    ] = False,
    as_json: Json = False,
) -> None:
    """Check sha256 and readability of every dump (exit 1 when anything is wrong)."""
    _verify(backup_id, restore=restore, as_json=as_json)


@app.command("test-restore")
def test_restore(backup_id: BackupId, as_json: Json = False) -> None:
    """Restore into scratch databases (created and dropped), compare every table's row count with the manifest."""
    _verify(backup_id, restore=True, as_json=as_json)


@app.command("restore")
def restore(
    backup_id: BackupId,
    yes_overwrite: Annotated[
        list[str],
        typer.Option("--yes-overwrite", help="Name of a database this restore overwrites (repeat for both)."),
    ],
    only: Annotated[str | None, typer.Option("--only", help="Restore only 'litemaas' or 'litellm'.")] = None,
    as_json: Json = False,
) -> None:
    """Disaster recovery: replace the configured databases with a backup (stop the proxy and backend first).

    LiteLLM encrypts stored credentials (model API keys) with LITEMAAS_SALT_KEY: keep the salt key
    of the backed-up deployment, or those credentials cannot be decrypted after the restore.
    """
    from litemaas.backups import service
    from litemaas.backups.schemas import DatabaseRole

    roles: tuple[DatabaseRole, ...] = service.ROLES
    if only is not None:
        if only not in service.ROLES:
            raise typer.BadParameter("expected 'litemaas' or 'litellm'", param_hint="--only")
        roles = tuple(r for r in service.ROLES if r == only)
    report = _run(
        lambda config: service.restore_backup(
            config, service.resolve_id(config, backup_id), confirm=yes_overwrite, roles=roles
        )
    )
    if as_json:
        typer.echo(report.model_dump_json())
    else:
        typer.echo(_report(report.verification))
        typer.echo("LiteLLM's stored credentials need the salt key (LITEMAAS_SALT_KEY) the backup was made with.")
    if not report.verification.ok:
        raise typer.Exit(1)


@app.command("prune")
def prune(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be deleted, delete nothing.")] = False,
    as_json: Json = False,
) -> None:
    """Delete backups older than LITEMAAS_BACKUP_RETENTION_MONTHS (the newest backup is always kept)."""
    from litemaas.backups import service

    report = _run(lambda config: service.prune(config, dry_run=dry_run))
    if as_json:
        typer.echo(report.model_dump_json())
        return
    verb = "would delete" if dry_run else "deleted"
    typer.echo(
        f"retention {report.retention_months} months (cutoff {report.cutoff:%Y-%m-%d %H:%M} UTC): "
        f"{verb} {len(report.deleted)}, kept {len(report.kept)}"
    )
    for backup_id in report.deleted:
        typer.echo(f"  {verb}: {backup_id}")
