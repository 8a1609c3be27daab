"""The jobs as CLI commands (CronJobs run these): reconcile, jobs cleanup-keys, models sync."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import typer

if TYPE_CHECKING:
    from litemaas.runner import CliContext

T = TypeVar("T")


def _run_job(work: Callable[[CliContext], Awaitable[T]]) -> T:
    """The shared command runner, with LiteLLM required and the logs on stderr."""
    from litemaas.runner import run

    return run(work, litellm="required", pool_size=2, max_overflow=2)


def reconcile_command(
    dry_run: bool = typer.Option(False, "--dry-run", help="Report drift without repairing it."),
    models: bool = typer.Option(True, "--models/--no-models", help="Also sync the model catalog."),
) -> None:
    """Find and repair drift between LiteMaaS and LiteLLM (keys, models, subscriptions), printing each change."""
    from litemaas.audit.service import SystemActor
    from litemaas.jobs.reconcile import ReconcileReport, run_reconcile

    async def work(ctx: CliContext) -> ReconcileReport:
        # Commits per user (each under that user's key lock), so it uses its own sessions.
        report, _ = await run_reconcile(
            ctx.sessionmaker,
            ctx.litellm_admin,
            actor=SystemActor("reconcile", via="cli"),
            dry_run=dry_run,
            include_models=models,
        )
        return report

    report = _run_job(work)
    for change in report.changes:
        typer.echo(change.line())
    for error in report.errors:
        typer.echo(f"error     {error}", err=True)
    typer.echo(report.summary)
    raise typer.Exit(1 if report.errors else 0)


def sync_models_command(
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change."),
) -> None:
    """Re-read LiteLLM's models into the catalog (never re-creates a model deleted there)."""
    from litemaas.audit.service import SystemActor
    from litemaas.models_catalog import lifecycle
    from litemaas.models_catalog.schemas import SyncOut

    async def work(ctx: CliContext) -> SyncOut:
        return await lifecycle.sync(
            ctx.session, ctx.litellm_admin, actor=SystemActor("models-sync", via="cli"), dry_run=dry_run
        )

    result = _run_job(work)
    for label, names in (("added", result.added), ("updated", result.updated), ("removed", result.removed)):
        for name in names:
            typer.echo(f"{label:8} {name}")
    for name in result.ignored_deleted:
        typer.echo(f"kept deleted {name} (deleted in the catalog, still served by LiteLLM)")
    typer.echo(
        f"models sync{' (dry run)' if dry_run else ''}: {len(result.added)} added, {len(result.updated)} updated, "
        f"{len(result.removed)} removed, {result.subscriptions_ended} subscription(s) ended"
    )


jobs_app = typer.Typer(help="Operational jobs (each run is recorded and shown in the console).", no_args_is_help=True)


@jobs_app.command("cleanup-keys")
def cleanup_keys_command(
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be deleted or marked revoked."),
    max_age_days: int | None = typer.Option(
        None, "--max-age-days", min=1, max=3650, help="Age limit for this run (default: the admin setting)."
    ),
) -> None:
    """Delete expired and old LiteMaaS keys in LiteLLM, mark them (and keys LiteLLM lost) revoked."""
    from litemaas.audit.service import SystemActor
    from litemaas.jobs.cleanup import CleanupReport, cleanup_keys
    from litemaas.litellm_admin import LiteLLMError

    async def work(ctx: CliContext) -> CleanupReport | str:
        try:
            return await cleanup_keys(
                ctx.sessionmaker,
                ctx.litellm_admin,
                actor=SystemActor("cleanup-keys", via="cli"),
                default_max_age_days=ctx.settings.key_cleanup_max_age_days,
                dry_run=dry_run,
                max_age_days=max_age_days,
            )
        except LiteLLMError as exc:
            return exc.message

    result = _run_job(work)
    if isinstance(result, str):
        typer.echo(f"cleanup-keys: failed, nothing changed: {result}", err=True)
        raise typer.Exit(1)
    for line in result.lines():
        typer.echo(line)
    for error in result.errors:
        typer.echo(f"error   {error}", err=True)
    typer.echo(result.summary)
    raise typer.Exit(1 if result.errors else 0)
