"""``litemaas keys``: create keys for a list of users and write them to a CSV the operator hands out.

The secrets go to that file only (created 0600, never overwritten), never to the terminal or
a log. Each user is one transaction: a user that fails (unknown, not subscribed, key cap) is
reported on stderr and the others still get their key.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from litemaas.runner import CliContext

app = typer.Typer(help="API keys of users (admin).", no_args_is_help=True)

CSV_COLUMNS = ("username", "user_id", "alias", "key", "models", "expires_at")


def _read_users(path: Path) -> list[str]:
    """One username, e-mail or id per line; blank lines and ``#`` comments are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}", param_hint="--users-file") from None
    refs = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    refs = list(dict.fromkeys(ref for ref in refs if ref))
    if not refs:
        raise typer.BadParameter(f"{path} names no user", param_hint="--users-file")
    return refs


def _open_private(path: Path) -> int:
    """A new file only its owner can read (0600 from the start); an existing one is refused."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise typer.BadParameter(f"{path} exists; choose a new file", param_hint="--out") from None
    except OSError as exc:
        raise typer.BadParameter(f"cannot create {path}: {exc.strerror}", param_hint="--out") from None


@app.command("create-for")
def create_for(  # noqa: PLR0913, PLR0917  typer passes options by name; one parameter per option
    users_file: Annotated[Path, typer.Option("--users-file", help="One username, e-mail or id per line")],
    model: Annotated[list[str], typer.Option("--model", help="Model on the keys (repeat for several)")],
    out: Annotated[Path, typer.Option("--out", help="New CSV file for the keys (created 0600)")],
    alias: Annotated[str, typer.Option("--alias", help="Key name for every user")] = "workshop",
    grant: Annotated[
        bool, typer.Option("--grant", help="Grant the models to users not subscribed yet (bypasses approval)")
    ] = False,
    duration: Annotated[str | None, typer.Option("--duration", help="Key lifetime, e.g. 7d")] = None,
    rpm: Annotated[int | None, typer.Option("--rpm", help="Requests per minute per key")] = None,
    tpm: Annotated[int | None, typer.Option("--tpm", help="Tokens per minute per key")] = None,
    max_budget: Annotated[float | None, typer.Option("--max-budget", help="Budget per key")] = None,
) -> None:
    """Create one key per listed user and write username, key, models to a new CSV (0600)."""

    from litemaas.api_keys import service as keys
    from litemaas.api_keys.schemas import KeyCreateIn
    from litemaas.audit.service import SystemActor
    from litemaas.db import session_scope
    from litemaas.errors import LiteMaaSError
    from litemaas.runner import run
    from litemaas.subscriptions import service as subscriptions
    from litemaas.users import service as users

    refs = _read_users(users_file)
    limits = {"duration": duration, "rpm_limit": rpm, "tpm_limit": tpm, "max_budget": max_budget}
    try:
        request = KeyCreateIn.model_validate(
            {"alias": alias, "models": model, **{k: v for k, v in limits.items() if v is not None}}
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    handle = _open_private(out)

    async def work(ctx: CliContext) -> tuple[int, int]:
        actor = SystemActor(label=ctx.operator, via="cli")
        created = failed = 0
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as sink:
            writer = csv.writer(sink)
            writer.writerow(CSV_COLUMNS)
            for ref in refs:
                try:
                    async with session_scope(ctx.sessionmaker) as session:
                        user = await users.find_user(session, ref)
                        if grant:
                            for name in model:
                                await subscriptions.grant(
                                    session, ctx.litellm_admin, actor=actor, user_id=user.id, model_ref=name
                                )
                        key = await keys.create_key(
                            session, ctx.litellm_admin, actor=actor, user_id=user.id, data=request
                        )
                except LiteMaaSError as exc:
                    failed += 1
                    typer.echo(f"{ref}: failed: {exc.code}: {exc.message}", err=True)
                    continue
                writer.writerow(
                    (
                        user.username,
                        str(user.id),
                        key.alias,
                        key.key,
                        " ".join(key.models),
                        key.expires_at.isoformat() if key.expires_at else "",
                    )
                )
                sink.flush()
                created += 1
                typer.echo(f"{user.username}: key {key.display} created")
        return created, failed

    created, failed = run(work, litellm="required")
    typer.echo(f"{created} key(s) written to {out}, {failed} failed")
    if failed:
        raise typer.Exit(1)
