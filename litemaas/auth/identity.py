"""What an identity provider tells us about the person logging in."""

from __future__ import annotations

from dataclasses import dataclass, field

from litemaas.auth.permissions import Role


@dataclass(frozen=True, slots=True)
class LoginIdentity:
    """A verified login: who the provider says it is, and their groups (roles come from them)."""

    provider: str
    subject: str
    username: str
    email: str | None = None
    display_name: str | None = None
    groups: tuple[str, ...] = field(default_factory=tuple)
    # Development login only: the role picked on the form stands in for IdP groups.
    dev_role: Role | None = None
