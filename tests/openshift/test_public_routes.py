"""The public API Routes against LiteLLM's real route table: no admin route behind them.

LiteLLM's app is imported (``litellm.proxy.proxy_server``, the pinned version) and every route it
registers is tried against each public Route prefix the way the OpenShift router matches paths
(the prefix itself, or anything below it). A route reachable that way must be on the user-key
allowlist (``USER_KEY_ROUTES``), so a LiteLLM upgrade that adds, say, ``/v1/models/new`` under a
public prefix fails here before it is exposed.
"""

from __future__ import annotations

import os
from typing import Any

from litemaas.litellm_admin.access import USER_KEY_ROUTES
from tests.openshift.support import public_api_prefixes, rendered, router_matches

# Paths a request may take below a prefix: one to four segments deep, with characters a path
# parameter accepts (a `{x:path}` convertor matches any depth, so depth four suffices).
_BELOW = ("", "/x", "/x/y", "/x/y/z", "/x/y/z/w", "/input_items", "/cancel", "/count_tokens")


def _litellm_routes() -> list[Any]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from fastapi.routing import iter_route_contexts
    from litellm.proxy.proxy_server import app

    return list(iter_route_contexts(app.routes))


def test_no_litellm_admin_route_is_reachable_through_the_public_routes() -> None:
    prefixes = public_api_prefixes(rendered("ha"))
    routes = _litellm_routes()
    assert len(routes) > 300, "LiteLLM's route table looks incomplete"
    templates = {ctx.path_format for ctx in routes}
    for admin in ("/key/generate", "/user/new", "/team/new", "/model/new", "/spend/logs", "/global/spend"):
        assert admin in templates, f"{admin} not found: the enumeration misses LiteLLM routes"

    reachable: dict[tuple[str, str], str] = {}
    for ctx in routes:
        regex = getattr(ctx, "path_regex", None)
        if regex is None:
            continue
        for prefix in prefixes:
            for suffix in _BELOW:
                path = prefix + suffix
                if router_matches(prefix, path) and regex.match(path):
                    for method in sorted(ctx.methods or {"*"}):
                        reachable[(method, ctx.path_format)] = path
    assert reachable, "nothing LiteLLM serves is behind the public routes"
    allowed_paths = {path for _, path in USER_KEY_ROUTES}
    exposed = {
        op: path
        for op, path in reachable.items()
        if op not in USER_KEY_ROUTES
        and op[0] != "HEAD"
        # A WebSocket route (no methods) passes only at a path the allowlist serves over HTTP: the
        # same API over another transport (LiteLLM's Responses WebSocket mode at /v1/responses).
        and not (op[0] == "*" and op[1] in allowed_paths)
    }
    assert not exposed, "LiteLLM routes behind the public API Routes but not on the user-key allowlist:\n" + "\n".join(
        f"{method} {template}  (e.g. {path})" for (method, template), path in sorted(exposed.items())
    )
    websockets = sorted(template for method, template in reachable if method == "*")
    assert websockets == ["/responses", "/v1/responses"], websockets
    # The chat/embedding routes users need are among them.
    assert ("POST", "/v1/chat/completions") in reachable
    assert ("POST", "/v1/embeddings") in reachable


def test_router_path_matching_is_segment_wise() -> None:
    assert router_matches("/v1/models", "/v1/models")
    assert router_matches("/v1/models", "/v1/models/granite")
    assert not router_matches("/v1/models", "/v1/modelsx")
    assert not router_matches("/v1/models", "/v1/model/new")
    assert router_matches("/", "/key/generate")
