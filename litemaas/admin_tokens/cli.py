"""``litemaas tokens``: create, list and revoke admin API tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from litemaas.auth.permissions import Role, TokenRole

if TYPE_CHECKING:
    from litemaas.admin_tokens import service as tokens
    from litemaas.runner import CliContext

app = typer.Typer(help="Admin API tokens for scripts (hashed at rest, shown once).", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="A name to recognise the token by")],
    owner: Annotated[str, typer.Option("--owner", help="User the token acts for (username, e-mail or id)")],
    role: Annotated[TokenRole, typer.Option("--role")] = TokenRole.ADMIN_READONLY,
    days: Annotated[
        int | None,
        typer.Option("--days", min=1, help="Days until it expires (default: LITEMAAS_ADMIN_TOKEN_DEFAULT_DAYS)"),
    ] = None,
    scope: Annotated[list[str] | None, typer.Option("--scope", help="Limit to these permissions (repeat)")] = None,
) -> None:
    """Create a token; the secret is printed once, on stdout, and never again."""

    from litemaas.admin_tokens import service as tokens
    from litemaas.audit.service import SystemActor
    from litemaas.runner import run
    from litemaas.users.service import find_user

    async def work(ctx: CliContext) -> tokens.NewToken:
        user = await find_user(ctx.session, owner)
        return await tokens.create_token(
            ctx.session,
            actor=SystemActor(label=ctx.operator, via="cli"),
            owner_id=user.id,
            owner_role=Role(user.role),
            name=name,
            role=Role(role.value),
            expires_in_days=days,
            default_days=ctx.settings.admin_token_default_days,
            max_days=ctx.settings.admin_token_max_days,
            scopes=scope or None,
        )

    created = run(work)
    typer.echo(
        f"token {created.token.id} '{created.token.name}' ({created.token.role}), expires "
        f"{created.token.expires_at:%Y-%m-%d %H:%M} UTC. Shown once:",
        err=True,
    )
    typer.echo(created.secret)


@app.command("list")
def list_tokens(all_: Annotated[bool, typer.Option("--all", help="Include revoked tokens")] = False) -> None:
    """List tokens (never their secrets)."""

    from litemaas.admin_tokens import service as tokens
    from litemaas.audit.service import SystemActor
    from litemaas.runner import run

    async def work(ctx: CliContext) -> list[str]:
        rows = await tokens.list_tokens(
            ctx.session, actor=SystemActor(label=ctx.operator, via="cli"), include_revoked=all_
        )
        lines = [f"{'ID':<36} {'NAME':<24} {'ROLE':<15} {'PREFIX':<9} {'EXPIRES':<17} STATUS"]
        for t in rows:
            status = (
                "revoked" if t.revoked_at else ("expired" if tokens.token_expiry_in_past(t.expires_at) else "active")
            )
            lines.append(
                f"{t.id!s:<36} {t.name:<24} {t.role:<15} {t.display_prefix:<9} {t.expires_at:%Y-%m-%d %H:%M} {status}"
            )
        return lines

    for line in run(work):
        typer.echo(line)


@app.command("revoke")
def revoke(
    token: Annotated[str, typer.Argument(help="Token id, or the name of an active token")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
) -> None:
    """Revoke a token at once."""

    from litemaas.admin_tokens import service as tokens
    from litemaas.audit.service import SystemActor
    from litemaas.runner import run

    async def work(ctx: CliContext) -> str:
        found = await tokens.find_token(ctx.session, token)
        revoked = await tokens.revoke_token(
            ctx.session, actor=SystemActor(label=ctx.operator, via="cli"), token=found, reason=reason
        )
        return f"token {revoked.id} '{revoked.name}' revoked"

    typer.echo(run(work))
