"""Errors of the model catalog (HTTP status and error code per class)."""

from __future__ import annotations

from collections.abc import Iterable

from litemaas.errors import BadRequest, Conflict, NotFound


class ModelNotFound(NotFound):
    def __init__(self, ref: object) -> None:
        super().__init__(f"model {ref} not found")


class UnknownCapabilities(BadRequest):
    def __init__(self, tags: Iterable[str]) -> None:
        super().__init__(f"unknown capabilities: {', '.join(tags)}", field="capabilities")


class InvalidModelDefinition(BadRequest):
    """A model definition LiteLLM could not serve as asked (names the field at fault)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, field=field)


class ModelExists(Conflict):
    def __init__(self, message: str) -> None:
        super().__init__(message, field="name")


class DefinedInProxyConfig(Conflict):
    """A field of a model from the proxy configuration can only change there."""

    def __init__(self, name: str, fields: Iterable[str]) -> None:
        names = sorted(fields)
        super().__init__(
            f"{name} is defined in the proxy configuration: change {', '.join(names)} in litellm_config, then sync",
            field=names[0],
        )


class NotDeleted(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"model {name} is not deleted")


class NotServed(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"LiteLLM does not serve {name}; create it again instead")


class EmptyMirror(Conflict):
    """LiteLLM reports no models: far likelier a broken proxy config than a deliberate wipe."""

    def __init__(self) -> None:
        super().__init__("LiteLLM reports no models at all; refusing to remove the whole catalog")


class ModelServerRefused(BadRequest):
    """A test-connection URL the SSRF rule refuses (loopback, private, metadata, another scheme, ...)."""

    code = "url_refused"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"api_base {reason}; the backend reaches only public model servers and those on "
            "LITEMAAS_MODEL_SERVER_ALLOWED_HOSTS",
            field="api_base",
        )
