"""Who may do what with events: admins change them, read-only admins look; hosts are checked per event."""

from __future__ import annotations

from typing import Annotated

from litemaas.auth.dependencies import require
from litemaas.auth.permissions import Permission
from litemaas.auth.principal import Principal

EventWriter = Annotated[Principal, require(Permission.EVENTS_WRITE)]
"""Creates, changes, ends and seats events (admin only)."""

EventReader = Annotated[Principal, require(Permission.ADMIN_READ)]
"""Sees every event (admins and read-only admins)."""

EventMember = Annotated[Principal, require(Permission.AUTHENTICATED)]
"""Any logged-in user: joins events; a host is then checked against the event (``service.managed_event``)."""
