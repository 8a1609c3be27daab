"""``litemaas approvals``: list the queue, approve or deny requests in bulk (per-item results)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from litemaas.runner import CliContext
    from litemaas.subscriptions.schemas import BulkOut, SubscriptionOut

app = typer.Typer(help="Subscription requests awaiting an admin decision.", no_args_is_help=True)

# The API's bulk limit: larger selections are decided in batches of this size.
BATCH = 1000
Statuses = Annotated[list[str] | None, typer.Option("--status", help="pending, active, denied, cancelled (repeat)")]
Models = Annotated[list[str] | None, typer.Option("--model", help="Model name or id (repeat)")]
Users = Annotated[list[str] | None, typer.Option("--user", help="Username or user id (repeat)")]


@app.command("list")
def list_requests(
    status: Statuses = None,
    model: Models = None,
    user: Users = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 100,
) -> None:
    """List subscriptions (pending ones unless --status says otherwise), newest change first."""
    from litemaas.runner import run
    from litemaas.subscriptions import service
    from litemaas.subscriptions.schemas import QueueFilter

    query = QueueFilter(statuses=tuple(status or ["pending"]), models=tuple(model or ()), users=tuple(user or ()))

    async def work(ctx: CliContext) -> tuple[list[SubscriptionOut], int]:
        return await service.queue(ctx.session, query, limit=limit, offset=0)

    items, total = run(work)
    typer.echo(f"{'ID':<36} {'USER':<24} {'MODEL':<28} {'STATUS':<9} REASON")
    for sub in items:
        reason = (sub.status_reason or "").replace("\n", " ")[:60]
        typer.echo(f"{sub.id!s:<36} {sub.username:<24} {sub.model.name:<28} {sub.status:<9} {reason}")
    typer.echo(f"{len(items)} of {total} subscription(s)", err=True)


def _decide(
    action: str, ids: list[str] | None, models: list[str] | None, all_pending: bool, reason: str | None
) -> None:
    from litemaas.audit.service import SystemActor
    from litemaas.runner import run
    from litemaas.subscriptions import service
    from litemaas.subscriptions.schemas import QueueFilter

    if bool(ids) == all_pending:
        raise typer.BadParameter("give subscription IDS or --all-pending (with --model to narrow it), not both")
    if ids and models:
        raise typer.BadParameter("--model selects with --all-pending; with IDS it is not needed")
    try:
        chosen = [uuid.UUID(i) for i in ids or ()]
    except ValueError:
        raise typer.BadParameter("IDS: expected subscription ids (UUIDs)") from None

    async def work(ctx: CliContext) -> list[BulkOut]:
        actor = SystemActor(label=ctx.operator, via="cli")
        selected = chosen
        if all_pending:
            query = QueueFilter(statuses=("pending",), models=tuple(models or ()))
            selected = []
            while True:
                items, total = await service.queue(ctx.session, query, limit=500, offset=len(selected))
                selected += [s.id for s in items]
                if not items or len(selected) >= total:
                    break
        return [
            await service.decide_bulk(
                ctx.session, ctx.litellm_admin, actor=actor, ids=selected[i : i + BATCH], action=action, reason=reason
            )
            for i in range(0, len(selected), BATCH)
        ]

    outcomes = run(work, litellm="required", pool_size=2, max_overflow=2)
    succeeded = failed = 0
    for outcome in outcomes:
        for item in outcome.results:
            line = f"{item.id} ok {item.status}" if item.ok else f"{item.id} FAILED {item.error}: {item.detail}"
            typer.echo(line)
        succeeded += outcome.succeeded
        failed += outcome.failed
    typer.echo(f"{action}: {succeeded} succeeded, {failed} failed", err=True)
    if failed:
        raise typer.Exit(1)


IdsArg = Annotated[list[str] | None, typer.Argument(help="Subscription ids", show_default=False)]
AllPending = Annotated[bool, typer.Option("--all-pending", help="Every pending request (of --model when given)")]


@app.command("approve")
def approve(
    ids: IdsArg = None,
    model: Models = None,
    all_pending: AllPending = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Shown to the user")] = None,
) -> None:
    """Approve requests; prints one line per request, exits 1 if any failed."""
    _decide("approve", ids, model, all_pending, reason)


@app.command("deny")
def deny(
    reason: Annotated[str, typer.Option("--reason", help="Required: the user sees it")],
    ids: IdsArg = None,
    model: Models = None,
    all_pending: AllPending = False,
) -> None:
    """Deny requests (a reason is required); prints one line per request, exits 1 if any failed."""
    _decide("deny", ids, model, all_pending, reason)
