"""``litemaas usage``: refresh and rebuild the usage cache, export usage (a CronJob runs ``refresh``)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from litemaas.usage.service import UsageRuntime

app = typer.Typer(help="Usage analytics: the cache of LiteLLM's daily spend, and exports.", no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")]


@asynccontextmanager
async def _runtime() -> AsyncIterator[UsageRuntime]:
    from litemaas.config import get_settings
    from litemaas.db import create_engine, create_sessionmaker
    from litemaas.litellm_admin.dependencies import create_daily_spend
    from litemaas.logging import configure_logging
    from litemaas.usage.service import AnalyticsCache, UsageRuntime, policy_from

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json, stream="stderr")
    if not settings.database_url:
        raise typer.BadParameter("LITEMAAS_DATABASE_URL is not set")
    engine = create_engine(settings.database_url, pool_size=2, max_overflow=2)
    source = create_daily_spend(settings)
    try:
        yield UsageRuntime(
            sessionmaker=create_sessionmaker(engine),
            source=source,
            policy=policy_from(settings),
            cache=AnalyticsCache(),
        )
    finally:
        if source is not None:
            await source.aclose()
        await engine.dispose()


def _run_refresh(start: str | None, end: str | None, days: int, *, force: bool, as_json: bool) -> None:
    from litemaas.errors import LiteMaaSError
    from litemaas.kit.time import utcnow
    from litemaas.usage import service
    from litemaas.usage.schemas import RefreshOut

    async def main() -> RefreshOut:
        async with _runtime() as runtime:
            service.require_source(runtime)
            if start is not None and end is not None:
                first, last = service.parse_range(start, end)
            else:
                last = utcnow().date()
                first = last - timedelta(days=days - 1)
            return await service.refresh_range(runtime, first, last, force=force)

    try:
        report = asyncio.run(main())
    except LiteMaaSError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(report.model_dump_json())
    else:
        typer.echo(
            f"{report.start_date}..{report.end_date}: {report.days_fetched} day(s) fetched with "
            f"{report.upstream_reads} upstream read(s), {report.rows} row(s), "
            f"{report.attributed_rows} row(s) attributed later"
        )


@app.command("refresh")
def refresh(
    days: Annotated[int, typer.Option("--days", min=1, max=366, help="Look at the last N days (UTC).")] = 2,
    as_json: Json = False,
) -> None:
    """Fetch the days that are stale: never fetched, past their TTL, or just settled after the grace period."""
    _run_refresh(None, None, days, force=False, as_json=as_json)


@app.command("rebuild")
def rebuild(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (at most 366 days).")],
    as_json: Json = False,
) -> None:
    """Fetch every day of a range again from LiteLLM, final or not."""
    _run_refresh(start, end, 0, force=True, as_json=as_json)


@app.command("export")
def export(  # noqa: PLR0913, PLR0917  a typer command: each parameter is one command-line option
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (at most 366 days).")],
    view: Annotated[str, typer.Option("--view", help="daily, users, models, providers, keys or endpoints")] = "daily",
    fmt: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
    user: Annotated[list[str] | None, typer.Option("--user", help="User id (repeatable).")] = None,
    model: Annotated[list[str] | None, typer.Option("--model", help="Model name (repeatable).")] = None,
    provider: Annotated[list[str] | None, typer.Option("--provider", help="Provider (repeatable).")] = None,
    key: Annotated[list[str] | None, typer.Option("--key", help="Key id or external:<hash> (repeatable).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
) -> None:
    """Export usage of everyone (as an admin would see it), streamed to a file or stdout."""
    from pydantic import ValidationError

    from litemaas.errors import LiteMaaSError
    from litemaas.usage import export as usage_export
    from litemaas.usage import service
    from litemaas.usage.schemas import AdminUsageFilters, ExportFormat, ExportView

    try:
        export_view, export_format = ExportView(view), ExportFormat(fmt)
        filters = AdminUsageFilters(
            start_date=start,
            end_date=end,
            users=user or [],
            models=model or [],
            providers=provider or [],
            keys=key or [],
        )
    except (ValueError, ValidationError) as exc:
        raise typer.BadParameter(str(exc).splitlines()[0]) from None

    async def main() -> None:
        sink = output.open("wb") if output is not None else sys.stdout.buffer
        try:
            async with _runtime() as runtime, runtime.sessionmaker() as session:
                if runtime.source is not None:
                    await service.refresh_for(runtime, filters)
                scope = await service.build_scope(session, filters, None, admin=True)
                if export_view is ExportView.DAILY:
                    chunks = usage_export.stream_daily(runtime.sessionmaker, scope, export_format)
                else:
                    rows = await service.breakdown_rows(session, runtime, scope, export_view)
                    chunks = usage_export.stream_rows(export_format, export_view, rows)
                async for chunk in chunks:
                    sink.write(chunk)
        finally:
            if output is not None:
                sink.close()
            else:
                sink.flush()

    try:
        asyncio.run(main())
    except LiteMaaSError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
