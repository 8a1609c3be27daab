"""``litemaas settings``: show and change the portal settings (playground limits, public proxy URL, currency)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from litemaas.runner import CliContext

app = typer.Typer(
    help="Admin settings (stored in the database; the environment gives the defaults).", no_args_is_help=True
)


@app.command("show")
def show() -> None:
    """Print the portal and API key settings as JSON (effective values, overrides, defaults)."""
    from litemaas.runner import run
    from litemaas.settings_admin import service

    async def work(ctx: CliContext) -> dict[str, Any]:
        portal = await service.get_portal_settings(ctx.session, ctx.settings)
        keys = await service.get_api_key_settings(ctx.session)
        return {"portal": portal.model_dump(mode="json"), "api_keys": keys.model_dump(mode="json")}

    typer.echo(json.dumps(run(work), indent=2))


def _parse(assignments: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for item in assignments:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{item!r}: expected NAME=VALUE (an empty VALUE resets NAME to its default)")
        text = raw.strip()
        values[name.strip()] = None if text == "" else (int(text) if text.isdigit() else text)
    return values


@app.command("set")
def set_values(
    assignments: Annotated[
        list[str], typer.Argument(help="NAME=VALUE pairs, e.g. playground_rpm_limit=30 currency_label=EUR")
    ],
    reason_actor: Annotated[str | None, typer.Option("--as", help="Operator name recorded in the audit log")] = None,
) -> None:
    """Change portal settings; the others keep their current value (an empty VALUE resets to the default)."""
    from pydantic import ValidationError

    from litemaas.audit.service import SystemActor
    from litemaas.runner import run
    from litemaas.settings_admin import service
    from litemaas.settings_admin.schemas import PortalSettingsIn, PortalSettingsOut

    changes = _parse(assignments)

    async def work(ctx: CliContext) -> PortalSettingsOut:
        current = await service.get_portal_settings(ctx.session, ctx.settings)
        merged = {**current.overrides.model_dump(exclude_none=True), **changes}
        try:
            overrides = PortalSettingsIn.model_validate(merged)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(p) for p in error.get("loc", ())) or "settings"
            raise typer.BadParameter(f"{field}: {error['msg']}") from None
        actor = SystemActor(label=reason_actor or ctx.operator, via="cli")
        return await service.update_portal_settings(ctx.session, ctx.settings, actor=actor, overrides=overrides)

    result = run(work)
    typer.echo(json.dumps(result.effective.model_dump(mode="json"), indent=2))
