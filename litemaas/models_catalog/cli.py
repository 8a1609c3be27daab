"""``litemaas models``: list, create, test a model server's connection (``sync`` lives in jobs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from litemaas.runner import CliContext

app = typer.Typer(help="The model catalog.", no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command("list")
def list_models(as_json: Json = False) -> None:
    """Every catalog model (deleted ones too) with availability and subscriber counts."""
    from litemaas.models_catalog import lifecycle
    from litemaas.models_catalog import service as catalog
    from litemaas.runner import run

    async def work(ctx: CliContext) -> list[dict[str, Any]]:
        models = await catalog.list_models(ctx.session, include_hidden=True)
        counts = await lifecycle.subscriber_counts(ctx.session, [m.id for m in models])
        return [
            {
                "name": m.name,
                "state": "deleted" if m.deleted_at else ("available" if m.is_live else "unavailable"),
                "capabilities": list(m.capabilities),
                "restricted": m.restricted,
                "subscribers": counts.get(m.id, {}).get("active", 0),
                "pending_subscriptions": counts.get(m.id, {}).get("pending", 0),
            }
            for m in models
        ]

    rows = run(work)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        flags = " restricted" if row["restricted"] else ""
        caps = ",".join(row["capabilities"])
        typer.echo(f"{row['name']:40} {row['state']:11} {caps:30} subscribers={row['subscribers']}{flags}")
    typer.echo(f"{len(rows)} model(s)")


@app.command("create")
def create_model(
    definition: Annotated[Path, typer.Argument(help="JSON file: the body of POST /api/v1/admin/models", exists=True)],
) -> None:
    """Create a model in LiteLLM and the catalog (credentials stay in LiteLLM, encrypted)."""
    from pydantic import ValidationError

    from litemaas.audit.service import SystemActor
    from litemaas.models_catalog import lifecycle
    from litemaas.models_catalog.schemas import ModelCreateIn
    from litemaas.runner import run

    try:
        data = ModelCreateIn.model_validate_json(definition.read_bytes())
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error.get("loc", ())) or "body"
        typer.echo(f"invalid model definition: {field}: {error['msg']}", err=True)
        raise typer.Exit(2) from None

    async def work(ctx: CliContext) -> str:
        actor = SystemActor(label=ctx.operator, via="cli")
        model = await lifecycle.create_model(ctx.session, ctx.litellm_admin, actor=actor, data=data)
        return f"created {model.name} ({model.id})"

    typer.echo(run(work, litellm="required"))


@app.command("test-connection")
def test_connection(
    api_base: Annotated[str, typer.Argument(help="The model server's OpenAI base URL, e.g. http://host:8000/v1")],
    model: Annotated[str, typer.Argument(help="The model name the server serves (LiteLLM provider prefix allowed)")],
    model_type: Annotated[str, typer.Option("--type", help="chat, embeddings, document_conversion or safety")] = "chat",
    api_key_env: Annotated[
        str | None, typer.Option("--api-key-env", help="Name of an environment variable holding the server's key")
    ] = None,
) -> None:
    """Reach the model server as the backend would (same SSRF rule); exit 0 only when the model is found."""
    import asyncio
    import os

    from pydantic import SecretStr, ValidationError

    from litemaas.config import get_settings
    from litemaas.errors import LiteMaaSError
    from litemaas.models_catalog import connection
    from litemaas.models_catalog.schemas import ConnectionTestIn

    key = os.environ.get(api_key_env) if api_key_env else None
    try:
        data = ConnectionTestIn(
            api_base=api_base,
            model=model,
            model_type=model_type,
            api_key=SecretStr(key) if key else None,
        )
        verdict = asyncio.run(connection.run(data, get_settings()))
    except ValidationError as exc:
        error = exc.errors()[0]
        typer.echo(f"invalid: {'.'.join(str(p) for p in error.get('loc', ()))}: {error['msg']}", err=True)
        raise typer.Exit(2) from None
    except LiteMaaSError as exc:
        typer.echo(f"refused: {exc.message}", err=True)
        raise typer.Exit(2) from None
    suffix = f" (HTTP {verdict.http_status} from /{verdict.checked})" if verdict.http_status else ""
    typer.echo(f"{verdict.status}{suffix}")
    raise typer.Exit(0 if verdict.status in ("found", "reachable") else 1)
