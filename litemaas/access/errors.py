"""Errors of the access domain: models a key cannot be granted (400 naming ``models``)."""

from __future__ import annotations

from collections.abc import Iterable

from litemaas.errors import BadRequest


class NoModels(BadRequest):
    def __init__(self) -> None:
        super().__init__("models: at least one model is required", field="models")


class UnknownModels(BadRequest):
    def __init__(self, names: Iterable[str]) -> None:
        super().__init__(f"models: unknown model(s) {', '.join(names)}", field="models")


class NotSubscribed(BadRequest):
    def __init__(self, names: Iterable[str]) -> None:
        super().__init__(f"models: no active subscription for {', '.join(names)}", field="models")
