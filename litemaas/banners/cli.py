"""``litemaas banners list|create|delete``: the portal's banners from the command line (audited)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from litemaas.runner import CliContext

app = typer.Typer(help="Banners shown across the top of the portal's pages.", no_args_is_help=True)

Operator = Annotated[str | None, typer.Option("--as", help="Operator name recorded in the audit log")]


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{name}: not an ISO 8601 date or time: {value!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@app.command("list")
def list_banners() -> None:
    """Print every banner as JSON, in display order, with its status."""
    from litemaas.banners import service
    from litemaas.runner import run

    async def work(ctx: CliContext) -> list[dict[str, Any]]:
        return [banner.model_dump(mode="json") for banner in await service.list_banners(ctx.session)]

    typer.echo(json.dumps(run(work), indent=2))


@app.command("create")
def create(  # noqa: PLR0913, PLR0917  a typer command: each parameter is one command-line option
    message: Annotated[str, typer.Argument(help="The message (plain text, or Markdown with --markdown)")],
    severity: Annotated[str, typer.Option("--severity", help="info, warning, danger or success")] = "info",
    markdown: Annotated[bool, typer.Option("--markdown", help="Bold, italic, code and http(s) links")] = False,
    link: Annotated[str | None, typer.Option("--link", help="An http(s) URL shown after the message")] = None,
    link_text: Annotated[str | None, typer.Option("--link-text")] = None,
    start: Annotated[str | None, typer.Option("--start", help="Shown from (ISO 8601; no zone = UTC)")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Shown until (ISO 8601; no zone = UTC)")] = None,
    role: Annotated[
        list[str] | None, typer.Option("--role", help="A role that sees it (repeat; default: every role)")
    ] = None,
    dismissible: Annotated[bool, typer.Option("--dismissible/--not-dismissible")] = True,
    operator: Operator = None,
) -> None:
    """Create a banner (shown after the existing ones) and print it as JSON."""
    from pydantic import ValidationError

    from litemaas.audit.service import SystemActor
    from litemaas.banners import service
    from litemaas.banners.errors import InvalidBanner
    from litemaas.banners.schemas import BannerIn, BannerOut
    from litemaas.runner import run

    fields: dict[str, Any] = {
        "message": message,
        "message_format": "markdown" if markdown else "text",
        "severity": severity,
        "link_url": link,
        "link_text": link_text,
        "starts_at": _when(start, "--start"),
        "ends_at": _when(end, "--end"),
        "dismissible": dismissible,
    }
    if role:
        fields["target_roles"] = role
    try:
        body = service.validated(BannerIn.model_validate(fields))
    except ValidationError as exc:
        error = exc.errors()[0]
        raise typer.BadParameter(f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}") from None
    except InvalidBanner as exc:
        raise typer.BadParameter(f"{exc.field}: {exc.message}") from None

    async def work(ctx: CliContext) -> BannerOut:
        actor = SystemActor(label=operator or ctx.operator, via="cli")
        return await service.create_banner(ctx.session, actor=actor, body=body)

    typer.echo(json.dumps(run(work).model_dump(mode="json"), indent=2))


@app.command("delete")
def delete(
    banner_id: Annotated[uuid.UUID, typer.Argument(help="The banner's id (see `litemaas banners list`)")],
    operator: Operator = None,
) -> None:
    """Delete a banner (its dismissals go with it)."""
    from litemaas.audit.service import SystemActor
    from litemaas.banners import service
    from litemaas.runner import run

    async def work(ctx: CliContext) -> None:
        actor = SystemActor(label=operator or ctx.operator, via="cli")
        await service.delete_banner(ctx.session, actor=actor, banner_id=banner_id)

    run(work)
    typer.echo(f"deleted {banner_id}")
