"""``litemaas users``: promote, demote, list, deactivate, activate (by username, e-mail or id)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from litemaas.auth.permissions import Role

if TYPE_CHECKING:
    from litemaas.audit.service import SystemActor
    from litemaas.runner import CliContext
    from litemaas.users.cache import UserStateCache

# Heavy imports (SQLAlchemy, the services) happen inside the commands, so `litemaas --help`
# and unrelated commands start fast.

app = typer.Typer(help="Manage users (they exist once they have logged in).", no_args_is_help=True)

Reason = Annotated[str | None, typer.Option("--reason", help="Recorded in the audit log.")]


def _cache(ctx: CliContext) -> UserStateCache:
    from litemaas.users.cache import UserStateCache

    return UserStateCache(ctx.redis, ctx.settings.redis_key_prefix, ctx.settings.role_cache_seconds)


def _actor(ctx: CliContext) -> SystemActor:
    from litemaas.audit.service import SystemActor

    return SystemActor(label=ctx.operator, via="cli")


@app.command("promote")
def promote(
    user: Annotated[str, typer.Argument(help="Username, e-mail or id")],
    role: Annotated[Role, typer.Option("--role", help="Role to grant")] = Role.ADMIN,
    reason: Reason = None,
) -> None:
    """Grant a role manually (kept until demoted, whatever the user's groups say)."""
    if role is Role.USER:
        raise typer.BadParameter("promote grants admin or admin_readonly; use demote to revoke")

    from litemaas.runner import run
    from litemaas.users import service

    async def work(ctx: CliContext) -> str:
        target = await service.find_user(ctx.session, user)
        updated = await service.set_manual_role(
            ctx.session, actor=_actor(ctx), user=target, role=role, cache=_cache(ctx), reason=reason
        )
        return f"{updated.username}: role {updated.role} (manual {updated.manual_role})"

    typer.echo(run(work))


@app.command("demote")
def demote(user: Annotated[str, typer.Argument(help="Username, e-mail or id")], reason: Reason = None) -> None:
    """Revoke a manually granted role (a role from identity-provider groups still applies)."""

    from litemaas.runner import run
    from litemaas.users import service

    async def work(ctx: CliContext) -> str:
        target = await service.find_user(ctx.session, user)
        updated = await service.set_manual_role(
            ctx.session, actor=_actor(ctx), user=target, role=None, cache=_cache(ctx), reason=reason
        )
        note = f" (still {updated.group_role} from groups)" if updated.group_role else ""
        return f"{updated.username}: role {updated.role}{note}"

    typer.echo(run(work))


def _set_active(user: str, *, active: bool, reason: str | None) -> None:
    from litemaas.runner import run
    from litemaas.users import service

    async def work(ctx: CliContext) -> str:
        target = await service.find_user(ctx.session, user)
        if ctx.litellm is None:
            typer.echo("note: LITEMAAS_MASTER_KEY not set; the user's keys in LiteLLM are not changed", err=True)
        updated = await service.set_active(
            ctx.session,
            actor=_actor(ctx),
            user=target,
            active=active,
            cache=_cache(ctx),
            reason=reason,
            litellm=ctx.litellm,
        )
        return f"{updated.username}: {'active' if active else 'deactivated'}"

    # Keys follow activation in LiteLLM when a master key is configured.
    typer.echo(run(work, litellm="optional"))


@app.command("deactivate")
def deactivate(user: Annotated[str, typer.Argument(help="Username, e-mail or id")], reason: Reason = None) -> None:
    """Stop a user from logging in and end their sessions and admin tokens."""
    _set_active(user, active=False, reason=reason)


@app.command("activate")
def activate(user: Annotated[str, typer.Argument(help="Username, e-mail or id")], reason: Reason = None) -> None:
    """Let a deactivated user log in again."""
    _set_active(user, active=True, reason=reason)


@app.command("list")
def list_users(
    search: Annotated[str | None, typer.Option("--search", help="Part of username, e-mail or name")] = None,
    role: Annotated[Role | None, typer.Option("--role")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 200,
) -> None:
    """List users: username, role (manual / group), active, e-mail."""

    from litemaas.runner import run
    from litemaas.users import service

    async def work(ctx: CliContext) -> list[str]:
        users, total = await service.list_users(ctx.session, search=search, role=role, limit=limit)
        lines = [f"{'USERNAME':<32} {'ROLE':<15} {'MANUAL':<15} {'GROUP':<15} {'ACTIVE':<6} EMAIL"]
        for u in users:
            lines.append(
                f"{u.username:<32} {u.role:<15} {u.manual_role or '-':<15} {u.group_role or '-':<15} "
                f"{'yes' if u.is_active else 'no':<6} {u.email or ''}"
            )
        lines.append(f"{total} user(s)")
        return lines

    for line in run(work):
        typer.echo(line)
