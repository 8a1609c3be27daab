"""Schemathesis over ``/openapi.json``: every operation, as user, admin_readonly and admin, never a 5xx.

The backend runs as a real HTTP server (uvicorn, in a thread) on its OWN migrated database and
Redis prefix, in front of the session's real LiteLLM proxy. Fuzzing changes what it reaches
(settings, catalog, users, keys), so it gets a database of its own; what it creates in the shared
proxy (keys, model deployments) is deleted afterwards.

Per operation and role: the coverage phase walks every field's edges (bounds, types, NUL,
unexpected methods for the admin run), then a few fuzzed examples. Real ids and model names are
swapped in for part of the generated ones (``Seeds``), so fuzzed payloads reach the code behind
the 404 and the "not subscribed" checks: key limits go to LiteLLM, settings are stored, models
are created. A last, stateful run follows links between operations as admin. Generation is
derandomized with a fixed seed, so a failure reproduces with the same command.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import hypothesis
import psycopg
import pytest
import schemathesis
import uvicorn
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig

from litemaas.auth.sessions import CSRF_HEADER
from litemaas.config import Settings
from tests.support.backend import PG_ADMIN_URL, REDIS_URL, asyncpg_url, free_port
from tests.support.stack import CHAT, GUARD

SEED = 20250608
# Fuzzed examples per operation, after the coverage phase's edge cases. With these the three
# runs and the stateful one take about 70 s on a 2-core machine (plus ~15 s to build the cases
# at collection and the backend's start-up; the proxy is the session's).
MAX_EXAMPLES = 8
STATEFUL_SCENARIOS = 10
STATEFUL_STEPS = 8

# Operations that end the caller's session: each call gets a fresh login so the run goes on.
_LOGOUT_PATHS = {"/api/v1/auth/logout", "/auth/logout"}
_ADMIN_PATHS = "^/api/v1/admin/"


def _config(role: str, *, stateful: bool = False) -> SchemathesisConfig:
    """One role's run: full depth where the role is allowed, a few examples where it gets a 403."""
    operations: list[dict[str, Any]] = []
    forbidden = {"user": {"include-path-regex": _ADMIN_PATHS}, "admin_readonly": {"include-path-regex": _ADMIN_PATHS}}
    if role in forbidden:
        rule: dict[str, Any] = {**forbidden[role], "phases": {"coverage": {"enabled": False}}}
        rule["generation"] = {"max-examples": 3}
        if role == "admin_readonly":
            rule["include-method-regex"] = "^(POST|PUT|PATCH|DELETE)$"
        operations.append(rule)
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "suppress-health-check": ["all"],
            "generation": {"deterministic": True, "max-examples": MAX_EXAMPLES, "database": "none", "mode": "all"},
            "phases": {
                "examples": {"enabled": True},
                # 405s for unexpected methods are the same answer whoever asks: the admin run covers them.
                "coverage": {"enabled": True, **({} if role == "admin" else {"unexpected-methods": []})},
                "fuzzing": {"enabled": True},
                "stateful": {
                    "enabled": stateful,
                    "inference": {"algorithms": ["location-headers", "dependency-analysis"]},
                },
            },
            "operations": operations,
        }
    )


def _openapi() -> dict[str, Any]:
    from litemaas.app import create_app

    app = create_app(Settings(_env_file=None, environment="development"), configure_logs=False)  # type: ignore[call-arg]
    document: dict[str, Any] = app.openapi()
    return document


# The document a real app instance serves at /openapi.json (the fixture checks that the running
# server serves the same). Loaded at import so every operation is its own pytest item.
OPENAPI = _openapi()
user_schema = schemathesis.openapi.from_dict(OPENAPI, config=_config("user"))
readonly_schema = schemathesis.openapi.from_dict(OPENAPI, config=_config("admin_readonly"))
admin_schema = schemathesis.openapi.from_dict(OPENAPI, config=_config("admin"))


@dataclass
class Credentials:
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)


@dataclass
class Seeds:
    """Real values of one role's run, by parameter name (path parameters and body fields)."""

    path: dict[str, list[str]] = field(default_factory=dict)
    # (method, path template) -> parameter overrides, for operations that must not hit the run's own fixtures.
    per_operation: dict[tuple[str, str], dict[str, list[str]]] = field(default_factory=dict)
    models: list[list[str]] = field(default_factory=list)
    model: list[str] = field(default_factory=list)
    subscription_ids: list[list[str]] = field(default_factory=list)


@dataclass
class FuzzTarget:
    url: str
    credentials: dict[str, Credentials] = field(default_factory=dict)
    seeds: dict[str, Seeds] = field(default_factory=dict)

    def login(self, role: str) -> Credentials:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            response = client.post("/auth/dev", data={"username": f"fuzz-{role}-{uuid.uuid4().hex[:8]}", "role": role})
            assert response.status_code == 303, response.text
            return Credentials(
                headers={CSRF_HEADER: client.cookies["litemaas_csrf"]}, cookies=dict(client.cookies.items())
            )


class _ServerThread(threading.Thread):
    def __init__(self, server: uvicorn.Server) -> None:
        super().__init__(daemon=True, name="fuzz-backend")
        self.server = server

    def run(self) -> None:
        self.server.run()


def _create_database() -> tuple[str, str]:
    from litemaas.migrations import upgrade

    name = f"litemaas_fuzz_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = asyncpg_url(name)
    upgrade(url)
    return name, url


def _drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _deployment_ids(litellm_stack: Any) -> set[str]:
    response = litellm_stack.admin.get("/model/info")
    response.raise_for_status()
    return {str(d.get("model_info", {}).get("id")) for d in response.json().get("data", [])}


def _cleanup_litellm(litellm_stack: Any, database_url: str, deployments_before: set[str]) -> None:
    """Delete what the fuzzing created in the shared proxy: its keys and its model deployments."""
    with psycopg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1)) as conn:
        hashes = [row[0] for row in conn.execute("SELECT token_hash FROM api_key_tokens").fetchall()]
    for key_hash in hashes:
        litellm_stack.admin.post("/key/delete", json={"keys": [key_hash]})
    for deployment_id in _deployment_ids(litellm_stack) - deployments_before:
        litellm_stack.admin.post("/model/delete", json={"id": deployment_id})


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def _seed(target: FuzzTarget, litellm_stack: Any) -> None:
    """A user with subscriptions and keys, a bystander, a model and a token for the runs to reach by id."""
    admin, user = target.credentials["admin"], target.credentials["user"]
    bystander = target.login("user")
    api = target.url + "/api/v1"
    with (
        httpx.Client(base_url=api, timeout=60, headers=admin.headers, cookies=admin.cookies) as a,
        httpx.Client(base_url=api, timeout=60, headers=user.headers, cookies=user.cookies) as u,
        httpx.Client(base_url=api, timeout=60, headers=bystander.headers, cookies=bystander.cookies) as b,
    ):
        _created(a.post("/admin/models/sync"))
        model = f"fuzz-chat-{uuid.uuid4().hex[:8]}"
        params = {"model": "hosted_vllm/fuzz", "api_base": f"{litellm_stack.simulator_url}/v1"}
        _created(a.post("/admin/models", json={"name": model, "litellm_params": params}))
        victim = _created(u.get("/auth/me"))["user_id"]
        other = _created(b.get("/auth/me"))["user_id"]
        chat_sub, guard_sub, model_sub = (
            _created(u.post("/subscriptions", json={"model": m})) for m in (CHAT, GUARD, model)
        )
        own_key = _created(u.post("/keys", json={"alias": "fuzz-own", "models": [CHAT, model]}))
        admin_key = _created(a.post(f"/admin/users/{victim}/keys", json={"alias": "fuzz-admin", "models": [CHAT]}))
        token = _created(a.post("/admin/tokens", json={"name": "fuzz-target", "role": "admin_readonly"}))
        readonly = _created(a.post("/admin/tokens", json={"name": "fuzz-readonly", "role": "admin_readonly"}))
    target.credentials["admin_readonly"] = Credentials(headers={"Authorization": f"Bearer {readonly['token']}"})
    # The user run must keep its CHAT subscription (its key creations need it): it only reaches the others.
    target.seeds["user"] = Seeds(
        path={"key_id": [own_key["id"]], "subscription_id": [guard_sub["id"], model_sub["id"]], "model_ref": [model]},
        models=[[CHAT], [CHAT, model]],
        model=[CHAT, GUARD, model],
    )
    subscriptions = [chat_sub["id"], guard_sub["id"], model_sub["id"]]
    admin_seeds = Seeds(
        path={
            "key_id": [admin_key["id"]],
            "user_id": [victim],
            "subscription_id": subscriptions,
            "token_id": [token["id"]],
            "model_ref": [model],
        },
        # Role and activation changes go to a bystander, so the victim's keys stay editable.
        per_operation={
            ("PUT", "/api/v1/admin/users/{user_id}/role"): {"user_id": [other]},
            ("PUT", "/api/v1/admin/users/{user_id}/active"): {"user_id": [other]},
        },
        models=[[CHAT]],
        model=[CHAT, model],
        subscription_ids=[subscriptions, [guard_sub["id"]]],
    )
    target.seeds["admin"] = admin_seeds
    target.seeds["admin_readonly"] = Seeds(path={**admin_seeds.path, "model_ref": [model, CHAT]})


@pytest.fixture(scope="module")
def fuzz_target(litellm_stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    name, database_url = _create_database()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="development",
        database_url=database_url,
        redis_url=REDIS_URL,
        redis_key_prefix=f"litemaas-fuzz-{uuid.uuid4().hex[:8]}:",
        dev_login_enabled=True,
        cookie_secure=False,
        public_url=url,
        proxy_url=litellm_stack.proxy_url,
        master_key=litellm_stack.master_key,
        # Usage analytics read LiteLLM's daily spend from its database, as in a deployment.
        litellm_database_url=litellm_stack.litellm_database_url,
        # Backups configured as in a deployment (a directory here), so their routes answer 2xx/4xx.
        backup_storage="local",
        backup_local_dir=tmp_path_factory.mktemp("fuzz-backups"),
        log_level="WARNING",
        log_json=True,
    )
    from litemaas.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on"
        )
    )
    thread = _ServerThread(server)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "fuzz backend did not start"
        time.sleep(0.05)
    deployments_before = _deployment_ids(litellm_stack)
    target = FuzzTarget(url=url)
    try:
        assert httpx.get(f"{url}/openapi.json", timeout=30).json() == OPENAPI, "fuzzed document differs from served"
        target.credentials["user"] = target.login("user")
        target.credentials["admin"] = target.login("admin")
        _seed(target, litellm_stack)
        yield target
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        try:
            _cleanup_litellm(litellm_stack, database_url, deployments_before)
        finally:
            _drop_database(name)


def _pick(value: Any, choices: list[Any]) -> Any:
    """Deterministically one of ``choices`` for about two values in three, else None (keep the generated one)."""
    if not choices:
        return None
    digest = int(hashlib.sha256(repr(value).encode()).hexdigest(), 16)
    slot = digest % (len(choices) * 3 // 2 + 1)
    return choices[slot] if slot < len(choices) else None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _apply_seeds(case: Any, seeds: Seeds) -> None:
    overrides = seeds.per_operation.get((case.method.upper(), case.path), {})
    for name, value in list((case.path_parameters or {}).items()):
        choices = overrides.get(name) or seeds.path.get(name)
        # A malformed id stays: that is a case of its own.
        if choices and isinstance(value, str) and (name == "model_ref" or _is_uuid(value)):
            replacement = _pick(value, choices)
            if replacement is not None:
                case.path_parameters[name] = replacement
    body = case.body
    if not isinstance(body, dict):
        return
    for name, choices in (("models", seeds.models), ("model", seeds.model), ("ids", seeds.subscription_ids)):
        value = body.get(name)
        if isinstance(value, list if name != "model" else str):
            replacement = _pick(value, choices)
            if replacement is not None:
                body[name] = replacement


def _exercise(case: Any, role: str, target: FuzzTarget) -> Any:
    _apply_seeds(case, target.seeds[role])
    credentials = target.login(role) if case.path in _LOGOUT_PATHS else target.credentials[role]
    if case.path == "/api/v1/admin/reconcile":
        # A real reconcile on this database would delete the keys other tests hold in the shared proxy.
        case.query = {**(case.query or {}), "dry_run": "true"}
    response = case.call(base_url=target.url, headers=dict(credentials.headers), cookies=dict(credentials.cookies))
    case.validate_response(response, checks=[not_a_server_error])
    # The run's own credentials must hold to the end, or it would only be fuzzing the 401.
    assert response.status_code != 401, f"{role} lost its credentials at {case.method} {case.path}"
    return response


# One test per role, each operation its own item. The order matters: the admin run changes what
# the others would see (it may revoke, deny, restrict), so it comes last.
@user_schema.parametrize()
def test_no_server_error_as_user(case: Any, fuzz_target: FuzzTarget) -> None:
    _exercise(case, "user", fuzz_target)


@readonly_schema.parametrize()
def test_no_server_error_as_admin_readonly(case: Any, fuzz_target: FuzzTarget) -> None:
    _exercise(case, "admin_readonly", fuzz_target)


@admin_schema.parametrize()
def test_no_server_error_as_admin(case: Any, fuzz_target: FuzzTarget) -> None:
    _exercise(case, "admin", fuzz_target)


def test_no_server_error_in_linked_sequences_as_admin(fuzz_target: FuzzTarget) -> None:
    """Stateful: responses feed later requests (a created key's id into its update, ...), as admin."""
    schema = schemathesis.openapi.from_dict(OPENAPI, config=_config("admin", stateful=True))

    class Sequences(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            _apply_seeds(case, fuzz_target.seeds["admin"])
            credentials = fuzz_target.login("admin") if case.path in _LOGOUT_PATHS else fuzz_target.credentials["admin"]
            if case.path == "/api/v1/admin/reconcile":
                case.query = {**(case.query or {}), "dry_run": "true"}
            return {"base_url": fuzz_target.url, "headers": dict(credentials.headers), "cookies": credentials.cookies}

        def validate_response(self, response: Any, case: Any, *args: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=[not_a_server_error])

    Sequences.run(
        settings=hypothesis.settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
