"""Errors of the subscriptions domain (HTTP status and error code per class)."""

from __future__ import annotations

import uuid

from litemaas.errors import BadRequest, Conflict, NotFound


class SubscriptionNotFound(NotFound):
    """A subscription that does not exist, or another user's (which looks the same)."""

    def __init__(self, subscription_id: uuid.UUID) -> None:
        super().__init__(f"subscription {subscription_id} not found")


class ModelNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"model {ref} not found")


class ModelUnavailable(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"model {name} is no longer available")


class AlreadySubscribed(Conflict):
    code = "already_subscribed"

    def __init__(self, model: str, status: str) -> None:
        super().__init__(f"already subscribed to {model} ({status})")


class SubscriptionDenied(Conflict):
    """Subscribing again does not lift a denial; a review request does."""

    code = "subscription_denied"

    def __init__(self, model: str) -> None:
        super().__init__(f"your access to {model} was denied; request a review instead")


class InvalidTransition(Conflict):
    code = "invalid_transition"


class ReasonRequired(BadRequest):
    def __init__(self, doing: str) -> None:
        super().__init__(f"a reason is required to {doing}", field="reason")
