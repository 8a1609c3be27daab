"""The ``litemaas`` command: one entry point for every process and job."""

from __future__ import annotations

import typer

from litemaas.config import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="LiteMaaS platform command.")
proxy_app = typer.Typer(help="Run and manage the LiteLLM proxy runtime.")
app.add_typer(proxy_app, name="proxy")


@proxy_app.callback(invoke_without_command=True)
def proxy(ctx: typer.Context) -> None:
    """Run the LiteLLM proxy (with the offline Prisma engine when needed)."""
    if ctx.invoked_subcommand is not None:
        return
    from litemaas.proxy_runtime.processes import exit_now
    from litemaas.proxy_runtime.supervisor import run_proxy

    exit_now(run_proxy())


@proxy_app.command("migrate")
def proxy_migrate() -> None:
    """Apply LiteLLM's SQL migrations (idempotent, safe with concurrent replicas)."""
    from litemaas.proxy_runtime.litellm_schema import MigrationError, migrate_from_settings

    try:
        applied = migrate_from_settings()
    except MigrationError as exc:
        typer.echo(f"litellm migrations failed: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"litellm migrations applied: {len(applied)}")
    for name in applied:
        typer.echo(f"  {name}")


@proxy_app.command("generate")
def proxy_generate() -> None:
    """Generate LiteLLM's Prisma client (offline engine when native engines are absent)."""
    from litemaas.proxy_runtime.prisma_client import generate_client

    generate_client()


@app.command("simulator")
def simulator(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8100),
    latency_ms: float = typer.Option(0.0, help="Added latency per request (non-streaming)."),
    ttft_ms: float = typer.Option(0.0, help="Time to first token for streaming responses."),
) -> None:
    """Run the model simulator (stands in for GPU model servers)."""
    from litemaas.simulator.server import run

    run(host=host, port=port, latency_ms=latency_ms, ttft_ms=ttft_ms)


@app.command("up")
def up() -> None:
    """Start the whole stack locally (embedded PostgreSQL when no database URL is set)."""
    from litemaas.proxy_runtime.processes import exit_now
    from litemaas.proxy_runtime.stack import run_stack

    exit_now(run_stack())


db_app = typer.Typer(help="The LiteMaaS database (migrations are never run implicitly).", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _register_domain_commands() -> None:
    from litemaas.admin_tokens.cli import app as tokens_app
    from litemaas.api_keys.cli import app as keys_app
    from litemaas.audit.cli import app as audit_app
    from litemaas.backups.cli import app as backup_app
    from litemaas.banners.cli import app as banners_app
    from litemaas.events.cli import app as events_app
    from litemaas.jobs.commands import jobs_app, reconcile_command, sync_models_command
    from litemaas.models_catalog.cli import app as models_app
    from litemaas.settings_admin.cli import app as settings_app
    from litemaas.subscriptions.cli import app as approvals_app
    from litemaas.usage.cli import app as usage_app
    from litemaas.users.cli import app as users_app

    app.add_typer(users_app, name="users")
    app.add_typer(usage_app, name="usage")
    app.add_typer(tokens_app, name="tokens")
    app.command("reconcile")(reconcile_command)
    app.add_typer(jobs_app, name="jobs")
    app.add_typer(approvals_app, name="approvals")
    app.add_typer(backup_app, name="backup")
    models_app.command("sync")(sync_models_command)
    app.add_typer(models_app, name="models")
    app.add_typer(settings_app, name="settings")
    app.add_typer(audit_app, name="audit")
    app.add_typer(keys_app, name="keys")
    app.add_typer(banners_app, name="banners")
    app.add_typer(events_app, name="events")


_register_domain_commands()


def _settings_or_exit(*required: str, purpose: str = "this command") -> Settings:
    """Valid settings with every ``required`` field set, else one clear message and exit 2."""
    from pydantic import ValidationError

    from litemaas.config import MissingSettings, get_settings, require_settings

    try:
        settings = get_settings()
        require_settings(settings, *required, purpose=purpose)
    except ValidationError as exc:
        typer.echo(f"invalid settings: {exc.errors()[0]['msg']}", err=True)
        raise typer.Exit(2) from None
    except MissingSettings as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    return settings


@app.command("serve")
def serve(
    host: str | None = typer.Option(None, help="Defaults to LITEMAAS_BACKEND_HOST."),
    port: int | None = typer.Option(None, help="Defaults to LITEMAAS_BACKEND_PORT."),
    workers: int | None = typer.Option(None, help="Defaults to LITEMAAS_BACKEND_WORKERS."),
    graceful_timeout: int | None = typer.Option(
        None, help="Seconds open requests may take to finish on SIGTERM (default: no limit)."
    ),
) -> None:
    """Run the LiteMaaS backend and portal (run `litemaas db upgrade` first)."""
    import uvicorn

    settings = _settings_or_exit("database_url", purpose="the LiteMaaS backend")
    uvicorn.run(
        "litemaas.app:create_app",
        factory=True,
        host=host or settings.backend_host,
        port=port or settings.backend_port,
        workers=workers or settings.backend_workers,
        # The app reads forwarded headers itself, from LITEMAAS_TRUSTED_PROXIES only; uvicorn's own
        # handling would believe any local peer (its default --forwarded-allow-ips is 127.0.0.1).
        proxy_headers=False,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=graceful_timeout,
    )


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply Alembic migrations to the LiteMaaS database."""
    from litemaas.logging import configure_logging
    from litemaas.migrations import upgrade

    settings = _settings_or_exit()
    if not settings.database_url:
        typer.echo("LITEMAAS_DATABASE_URL is not set", err=True)
        raise typer.Exit(2)
    configure_logging(settings.log_level, settings.log_json)
    upgrade(settings.database_url, revision)
    typer.echo(f"litemaas database at {revision}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's current migration revision."""
    from litemaas.migrations import current

    settings = _settings_or_exit()
    if not settings.database_url:
        typer.echo("LITEMAAS_DATABASE_URL is not set", err=True)
        raise typer.Exit(2)
    current(settings.database_url)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
