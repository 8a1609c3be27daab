"""``litemaas users``: promote, demote, list, deactivate, activate (by username, e-mail or id)."""

from __future__ import annotations

from collections.abc import Mapping
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


@app.command("show")
def show(user: Annotated[str, typer.Argument(help="Username, e-mail or id")]) -> None:
    """One user: identity, role (manual and from groups apart), activation, limits and spend."""

    from litemaas.runner import run
    from litemaas.users import limits, service

    async def work(ctx: CliContext) -> list[str]:
        target = await service.find_user(ctx.session, user)
        lines = [
            f"username:    {target.username}",
            f"id:          {target.id}",
            f"e-mail:      {target.email or '-'}",
            f"provider:    {target.identity_provider}",
            f"role:        {target.role} (manual {target.manual_role or '-'}, from groups {target.group_role or '-'})",
            f"active:      {'yes' if target.is_active else 'no'}",
        ]
        if ctx.litellm is not None:
            current = await limits.get_user_limits(ctx.session, ctx.litellm, target.id)
            spend = "unknown" if current.spend is None else f"{current.spend:.4f}"
        else:
            row = await limits.stored_user_limits(ctx.session, target.id)
            current, spend = row, "unknown (LITEMAAS_MASTER_KEY not set)"
        lines += [
            f"max_budget:  {_or_none(current.max_budget)} per {_or_none(current.budget_duration)}",
            f"tpm_limit:   {_or_none(current.tpm_limit)}",
            f"rpm_limit:   {_or_none(current.rpm_limit)}",
            f"key cap:     {_or_none(current.max_active_keys)}",
            f"spend:       {spend}",
        ]
        return lines

    for line in run(work, litellm="optional"):
        typer.echo(line)


def _or_none(value: object) -> str:
    return "-" if value is None else str(value)


limits_app = typer.Typer(help="Per-user limits (budget, TPM, RPM, key cap).", no_args_is_help=True)
app.add_typer(limits_app, name="limits")

MaxBudget = Annotated[float | None, typer.Option("--max-budget", help="Budget per period (currency units)")]
BudgetDuration = Annotated[str | None, typer.Option("--budget-duration", help="Budget period, e.g. 30d")]
Tpm = Annotated[int | None, typer.Option("--tpm", help="Tokens per minute")]
Rpm = Annotated[int | None, typer.Option("--rpm", help="Requests per minute")]
MaxKeys = Annotated[int | None, typer.Option("--max-keys", help="Active-key cap")]
Clear = Annotated[
    list[str] | None,
    typer.Option("--clear", help="Remove a limit: max_budget, budget_duration, tpm_limit, rpm_limit, max_active_keys"),
]


def _merged(current: Mapping[str, object], given: Mapping[str, object], clear: list[str] | None) -> dict[str, object]:
    unknown = sorted(set(clear or ()) - set(current))
    if unknown:
        raise typer.BadParameter(f"unknown limit(s) {', '.join(unknown)}", param_hint="--clear")
    merged = {**current, **{name: value for name, value in given.items() if value is not None}}
    for name in clear or ():
        merged[name] = None
    return merged


@limits_app.command("set")
def set_limits(  # noqa: PLR0917  typer passes options by name; one parameter per option
    user: Annotated[str, typer.Argument(help="Username, e-mail or id")],
    max_budget: MaxBudget = None,
    budget_duration: BudgetDuration = None,
    tpm: Tpm = None,
    rpm: Rpm = None,
    max_keys: MaxKeys = None,
    clear: Clear = None,
) -> None:
    """Change some of a user's limits (the others stay); LiteLLM enforces them at once."""

    from pydantic import ValidationError

    from litemaas.runner import run
    from litemaas.users import limits, service
    from litemaas.users.schemas import UserLimitsIn

    given = {
        "max_budget": max_budget,
        "budget_duration": budget_duration,
        "tpm_limit": tpm,
        "rpm_limit": rpm,
        "max_active_keys": max_keys,
    }

    async def work(ctx: CliContext) -> str:
        target = await service.find_user(ctx.session, user)
        stored = await limits.stored_user_limits(ctx.session, target.id)
        current = stored.model_dump(include=set(UserLimitsIn.model_fields))
        try:
            data = UserLimitsIn.model_validate(_merged(current, given, clear))
        except ValidationError as exc:
            raise typer.BadParameter(str(exc.errors()[0]["msg"])) from None
        out = await limits.set_user_limits(
            ctx.session, ctx.litellm_admin, actor=_actor(ctx), user_id=target.id, data=data
        )
        shown = ", ".join(
            f"{k}={_or_none(v)}" for k, v in out.model_dump(include=set(UserLimitsIn.model_fields)).items()
        )
        return f"{target.username}: {shown}"

    typer.echo(run(work, litellm="required"))


defaults_app = typer.Typer(help="Limits every new user gets at first login.", no_args_is_help=True)
app.add_typer(defaults_app, name="defaults")


@defaults_app.command("get")
def get_defaults() -> None:
    """Show the defaults for new users."""

    from litemaas.runner import run
    from litemaas.users import service

    async def work(ctx: CliContext) -> list[str]:
        defaults = await service.get_user_defaults(ctx.session)
        return [f"{name}: {_or_none(value)}" for name, value in defaults.model_dump().items()]

    for line in run(work):
        typer.echo(line)


@defaults_app.command("set")
def set_defaults(  # noqa: PLR0917  typer passes options by name; one parameter per option
    max_budget: MaxBudget = None,
    budget_duration: BudgetDuration = None,
    tpm: Tpm = None,
    rpm: Rpm = None,
    max_keys: MaxKeys = None,
    clear: Clear = None,
) -> None:
    """Change some of the defaults for new users (existing users keep theirs: see apply-defaults)."""

    from pydantic import ValidationError

    from litemaas.runner import run
    from litemaas.users import service
    from litemaas.users.schemas import UserDefaults

    given = {
        "max_budget": max_budget,
        "budget_duration": budget_duration,
        "tpm_limit": tpm,
        "rpm_limit": rpm,
        "max_active_keys": max_keys,
    }

    async def work(ctx: CliContext) -> list[str]:
        current = (await service.get_user_defaults(ctx.session)).model_dump()
        try:
            wanted = UserDefaults.model_validate(_merged(current, given, clear))
        except ValidationError as exc:
            raise typer.BadParameter(str(exc.errors()[0]["msg"])) from None
        saved = await service.set_user_defaults(ctx.session, actor=_actor(ctx), defaults=wanted)
        return [f"{name}: {_or_none(value)}" for name, value in saved.model_dump().items()]

    for line in run(work):
        typer.echo(line)


@app.command("apply-defaults")
def apply_defaults(
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: change the limits of every active user")] = False,
    reason: Reason = None,
) -> None:
    """Give every active user the defaults for new users (LiteLLM first, then ours; per-user results)."""
    if not yes:
        raise typer.BadParameter("this changes the limits of every active user: add --yes", param_hint="--yes")

    from litemaas.runner import run
    from litemaas.users import limits

    async def work(ctx: CliContext) -> tuple[list[str], bool]:
        out = await limits.apply_defaults(
            ctx.session, ctx.litellm_admin, actor=_actor(ctx), confirm=True, reason=reason
        )
        lines = [f"{r.username}: {r.status}{' (' + r.error + ')' if r.error else ''}" for r in out.results]
        lines.append(
            f"applied {out.applied}, unchanged {out.unchanged}, failed {out.failed}"
            + ("" if out.completed else " — LiteLLM stopped answering: run it again")
        )
        return lines, out.failed == 0 and out.completed

    lines, ok = run(work, litellm="required")
    for line in lines:
        typer.echo(line)
    if not ok:
        raise typer.Exit(1)
