"""Errors of the banners domain (HTTP status and JSON ``error`` code in each class)."""

from __future__ import annotations

from litemaas.errors import BadRequest, NotFound


class BannerNotFound(NotFound):
    code = "banner_not_found"


class InvalidBanner(BadRequest):
    """A banner field that breaks a rule (window, link scheme, roles, ...); ``field`` names it."""

    code = "invalid_banner"


class NotDismissible(BadRequest):
    code = "banner_not_dismissible"
