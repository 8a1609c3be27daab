"""``litemaas reconcile`` and ``litemaas models sync``: the jobs as CLI commands (CronJobs run these)."""

from __future__ import annotations

import asyncio
import logging
import sys

import typer


def _logs_to_stderr(level: str, json_output: bool) -> None:
    """Structured (redacted) logs on stderr, so stdout carries only the report."""
    from litemaas.logging import build_formatter, configure_logging

    configure_logging(level, json_output)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_litemaas", False):
            root.removeHandler(handler)
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(build_formatter(json_output))
    root.addHandler(stderr)


def _require_settings() -> tuple[str, str, str]:
    from litemaas.config import get_settings

    settings = get_settings()
    _logs_to_stderr(settings.log_level, settings.log_json)
    if not settings.database_url:
        raise typer.BadParameter("LITEMAAS_DATABASE_URL is not set")
    if settings.master_key is None:
        raise typer.BadParameter("LITEMAAS_MASTER_KEY is not set")
    return settings.database_url, settings.proxy_url, settings.master_key.get_secret_value()


async def _reconcile(dry_run: bool, include_models: bool) -> int:
    from litemaas.audit.service import SystemActor
    from litemaas.db import create_engine, create_sessionmaker
    from litemaas.jobs.reconcile import reconcile
    from litemaas.litellm_admin import LiteLLMAdminClient

    database_url, proxy_url, master_key = _require_settings()
    engine = create_engine(database_url, pool_size=2, max_overflow=2)
    try:
        async with LiteLLMAdminClient(proxy_url, master_key) as litellm:
            report = await reconcile(
                create_sessionmaker(engine),
                litellm,
                actor=SystemActor("reconcile", via="cli"),
                dry_run=dry_run,
                include_models=include_models,
            )
    finally:
        await engine.dispose()
    for change in report.changes:
        typer.echo(change.line())
    for error in report.errors:
        typer.echo(f"error     {error}", err=True)
    typer.echo(report.summary)
    return 1 if report.errors else 0


def reconcile_command(
    dry_run: bool = typer.Option(False, "--dry-run", help="Report drift without repairing it."),
    models: bool = typer.Option(True, "--models/--no-models", help="Also sync the model catalog."),
) -> None:
    """Find and repair drift between LiteMaaS and LiteLLM (keys, models, subscriptions), printing each change."""
    raise typer.Exit(asyncio.run(_reconcile(dry_run, models)))


async def _sync_models(dry_run: bool) -> int:
    from litemaas.audit.service import SystemActor
    from litemaas.db import create_engine, create_sessionmaker
    from litemaas.litellm_admin import LiteLLMAdminClient
    from litemaas.models_catalog import lifecycle

    database_url, proxy_url, master_key = _require_settings()
    engine = create_engine(database_url, pool_size=2, max_overflow=2)
    try:
        async with LiteLLMAdminClient(proxy_url, master_key) as litellm, create_sessionmaker(engine)() as session:
            result = await lifecycle.sync(
                session, litellm, actor=SystemActor("models-sync", via="cli"), dry_run=dry_run
            )
            await session.commit()
    finally:
        await engine.dispose()
    for label, names in (("added", result.added), ("updated", result.updated), ("removed", result.removed)):
        for name in names:
            typer.echo(f"{label:8} {name}")
    for name in result.ignored_deleted:
        typer.echo(f"kept deleted {name} (deleted in the catalog, still served by LiteLLM)")
    typer.echo(
        f"models sync{' (dry run)' if dry_run else ''}: {len(result.added)} added, {len(result.updated)} updated, "
        f"{len(result.removed)} removed, {result.subscriptions_ended} subscription(s) ended"
    )
    return 0


def sync_models_command(
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change."),
) -> None:
    """Re-read LiteLLM's models into the catalog (never re-creates a model deleted there)."""
    raise typer.Exit(asyncio.run(_sync_models(dry_run)))
