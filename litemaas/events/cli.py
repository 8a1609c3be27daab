"""``litemaas events seats``: seats (keys) for lab environments, through the API, written to a CSV.

Talks to a running backend with an admin API token (``--url``/``--token`` or ``LITEMAAS_URL`` and
``LITEMAAS_TOKEN``), so it works from any machine that can reach the portal.
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Workshop events.", no_args_is_help=True)

CSV_HEADER = ("username", "seat_id", "status", "created", "key")


@app.command("seats")
def seats(  # noqa: PLR0917  a typer command: each parameter is one command-line option
    event_id: Annotated[str, typer.Argument(help="The event's id")],
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV file to write (mode 600: it holds keys)")],
    count: Annotated[int | None, typer.Option("--count", help="This many new lab users, one seat each")] = None,
    user: Annotated[list[str] | None, typer.Option("--user", help="A seat for this existing user (repeat)")] = None,
    url: Annotated[str | None, typer.Option("--url", envvar="LITEMAAS_URL", help="The portal's URL")] = None,
    token: Annotated[str | None, typer.Option("--token", envvar="LITEMAAS_TOKEN", help="An admin API token")] = None,
) -> None:
    """Request seats and write username, seat id and key (shown once) per line to a CSV."""
    import httpx

    from litemaas.events.schemas import SeatsOut

    if (count is None) == (not user):
        raise typer.BadParameter("give either --count or --user")
    if not url or not token:
        raise typer.BadParameter("--url and --token (or LITEMAAS_URL and LITEMAAS_TOKEN) are required")
    body = {"count": count} if count is not None else {"usernames": user}
    # The seats API itself (what ``LiteMaaSClient.add_event_seats`` calls); the entry points do
    # not import one another, so the command speaks HTTP directly.
    try:
        response = httpx.post(
            url.rstrip("/") + f"/api/v1/admin/events/{event_id}/seats",
            json=body,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=300,
        )
    except httpx.HTTPError as exc:
        typer.echo(f"error: cannot reach {url}: {type(exc).__name__}", err=True)
        raise typer.Exit(1) from None
    if response.status_code >= 400:  # noqa: PLR2004  any HTTP error status
        typer.echo(f"error: {response.status_code} {response.text[:500]}", err=True)
        raise typer.Exit(1)
    items = SeatsOut.model_validate(response.json()).items
    # The keys are secrets: the file is readable by its owner only, an existing file included
    # (the mode of os.open applies to a new file alone).
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        for seat in items:
            writer.writerow([seat.username, str(seat.id), seat.status, "yes" if seat.created else "no", seat.key or ""])
    created = sum(1 for s in items if s.created)
    typer.echo(f"{len(items)} seat(s), {created} new key(s) written to {out}", file=sys.stderr)
