"""What a LiteMaaS-issued virtual key may do at the proxy: the one allowlist of proxy routes.

Deny by default. A key we issue reaches only the model API: chat, completions, embeddings,
the Responses and Anthropic Messages APIs (the capability hooks serve them for chat models),
the model list, and the hooks' tokenize/detokenize and document-conversion routes. It never
reaches key, user, team, model, spend or UI management, whatever LiteLLM adds in a later version.

Enforced by LiteLLM itself, in its database, so every replica applies it:

1. ``allowed_routes`` on every key we generate. LiteLLM 1.106.12 checks it for every role and
   every auth flow (``RouteChecks.should_call_route`` → ``is_virtual_key_allowed_to_call_route``,
   run on every authenticated request), with no Enterprise gate. An entry allows the path itself
   and every path below it (``/v1/responses`` also allows ``/v1/responses/{response_id}``), so the
   entries are the shortest prefixes of :data:`USER_KEY_ROUTES`, and the route-matrix test checks
   that no registered route falls under a prefix without being listed here.
2. The LiteLLM user we create for each LiteMaaS user has role ``internal_user_viewer``, which
   LiteLLM lets call the model API but no key management (``internal_user`` may generate,
   update and delete its own keys and read ``/global/activity``). This also covers a key that
   lacks ``allowed_routes`` (one made before this rule, until reconcile repairs it).

Not used: ``key_type="llm_api"`` maps to the route group ``llm_api_routes``, which also holds
images, audio, batches, files, assistants, vector stores, MCP and every provider pass-through;
``general_settings.admin_only_routes`` is Enterprise-only in 1.106.12 (ignored without a
license); ``litellm_settings.key_generation_settings`` only governs ``/key/generate`` and is
redundant once users can no longer reach it.
"""

from __future__ import annotations

from typing import Final

# The LiteLLM role of every user LiteMaaS creates (see the module docstring).
LITELLM_USER_ROLE: Final = "internal_user_viewer"

# (method, path as LiteLLM registers it) a LiteMaaS-issued key may call; everything else: 401/403.
USER_KEY_ROUTES: Final[frozenset[tuple[str, str]]] = frozenset(
    {
        # OpenAI chat / completions / embeddings, with and without the /v1 prefix
        ("POST", "/v1/chat/completions"),
        ("POST", "/chat/completions"),
        ("POST", "/v1/completions"),
        ("POST", "/completions"),
        ("POST", "/v1/embeddings"),
        ("POST", "/embeddings"),
        # OpenAI Responses API (LiteLLM checks that a response id belongs to the caller's key)
        ("POST", "/v1/responses"),
        ("POST", "/v1/responses/compact"),
        ("POST", "/v1/responses/input_tokens"),
        ("GET", "/v1/responses/{response_id}"),
        ("DELETE", "/v1/responses/{response_id}"),
        ("POST", "/v1/responses/{response_id}/cancel"),
        ("GET", "/v1/responses/{response_id}/input_items"),
        ("POST", "/responses"),
        ("POST", "/responses/compact"),
        ("POST", "/responses/input_tokens"),
        ("GET", "/responses/{response_id}"),
        ("DELETE", "/responses/{response_id}"),
        ("POST", "/responses/{response_id}/cancel"),
        ("GET", "/responses/{response_id}/input_items"),
        # Anthropic Messages API
        ("POST", "/v1/messages"),
        ("POST", "/v1/messages/count_tokens"),
        # Read-only self info: the models this key may call. Not "/models": in LiteLLM that
        # prefix also holds Google's /models/{model}:generateContent routes.
        ("GET", "/v1/models"),
        ("GET", "/v1/models/{model_id}"),
        # Capability routes added by hooks/ (litemaas_hooks.routes)
        ("POST", "/v1/tokenize"),
        ("POST", "/v1/detokenize"),
        ("GET", "/docling/v1/{subpath}"),
        ("POST", "/docling/v1/{subpath}"),
    }
)


def _prefix(path: str) -> str:
    """The literal part of a route template: everything before its first path parameter."""
    literal: list[str] = []
    for segment in path.split("/")[1:]:
        if "{" in segment:
            break
        literal.append(segment)
    return "/" + "/".join(literal)


def _allowed_routes(routes: frozenset[tuple[str, str]]) -> tuple[str, ...]:
    prefixes = sorted({_prefix(path) for _, path in routes}, key=lambda p: (len(p), p))
    kept: list[str] = []
    for prefix in prefixes:
        if not any(prefix == k or prefix.startswith(k + "/") for k in kept):
            kept.append(prefix)
    return tuple(sorted(kept))


# The value of ``allowed_routes`` on every key LiteMaaS generates.
KEY_ALLOWED_ROUTES: Final[tuple[str, ...]] = _allowed_routes(USER_KEY_ROUTES)


def is_user_key_route(method: str, path: str) -> bool:
    """True when ``(method, path)`` (a registered route template) is on the allowlist."""
    return (method.upper(), path) in USER_KEY_ROUTES


def has_key_restriction(allowed_routes: list[str] | None) -> bool:
    """True when a live key carries exactly our ``allowed_routes`` (order ignored)."""
    return sorted(allowed_routes or []) == sorted(KEY_ALLOWED_ROUTES)
