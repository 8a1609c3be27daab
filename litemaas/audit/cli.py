"""``litemaas audit export``: the audit log as CSV, with the console's filters."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from litemaas.runner import CliContext

app = typer.Typer(help="The audit log.", no_args_is_help=True)


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    from litemaas.errors import BadRequest
    from litemaas.kit.bounds import utc_filter

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{name}: not an ISO 8601 date or time: {value!r}") from None
    if "T" not in value and " " not in value.strip():  # a bare date is that day's start in UTC
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return utc_filter(parsed, name)
    except BadRequest as exc:
        raise typer.BadParameter(f"{name}: {exc.message}") from None


@app.command("export")
def export(  # noqa: PLR0917  a typer command: each parameter is one command-line option
    since: Annotated[str | None, typer.Option("--since", help="Inclusive lower bound (ISO 8601)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Exclusive upper bound (ISO 8601)")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="User id or part of the actor name")] = None,
    action: Annotated[str | None, typer.Option("--action", help="Exact action, or a prefix ending in '*'")] = None,
    target_type: Annotated[str | None, typer.Option("--target-type")] = None,
    text: Annotated[str | None, typer.Option("--q", help="Free text")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="CSV file to write (default: stdout)")] = None,
) -> None:
    """Write every matching event as CSV, newest first (streamed from the database)."""
    from litemaas.audit.service import AuditQuery, export_csv, export_query
    from litemaas.runner import run

    filters = export_query(
        AuditQuery(
            actor=actor,
            action=action,
            target_type=target_type,
            since=_when(since, "since"),
            until=_when(until, "until"),
            text=text,
        )
    )

    async def work(ctx: CliContext) -> int:
        written = 0
        sink = out.open("wb") if out is not None else sys.stdout.buffer
        try:
            async for chunk in export_csv(ctx.sessionmaker, filters):
                sink.write(chunk)
                written += len(chunk)
        finally:
            if out is not None:
                sink.close()
            else:
                sink.flush()
        return written

    written = run(work)
    if out is not None:
        typer.echo(f"wrote {written} bytes to {out}", err=True)
