"""The ``litemaas`` command: one entry point for every process and job."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="LiteMaaS platform command.")
proxy_app = typer.Typer(help="Run and manage the LiteLLM proxy runtime.")
app.add_typer(proxy_app, name="proxy")


@proxy_app.callback(invoke_without_command=True)
def proxy(ctx: typer.Context) -> None:
    """Run the LiteLLM proxy (with the offline Prisma engine when needed)."""
    if ctx.invoked_subcommand is not None:
        return
    from litemaas.proxy_runtime.supervisor import run_proxy

    raise typer.Exit(run_proxy())


@proxy_app.command("migrate")
def proxy_migrate() -> None:
    """Apply LiteLLM's SQL migrations (idempotent, safe with concurrent replicas)."""
    from litemaas.proxy_runtime.migrations import migrate_from_settings

    applied = migrate_from_settings()
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
    from litemaas.proxy_runtime.stack import run_stack

    raise typer.Exit(run_stack())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
