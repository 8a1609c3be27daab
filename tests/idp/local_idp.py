"""A local identity provider for tests: OpenShift's OAuth server + user API, and an OIDC provider.

Real protocol, real crypto: authorization codes bound to client, redirect URI and PKCE
challenge; RS256 ID tokens with a published JWKS. ``misbehave`` makes the OIDC side send the
broken tokens a hostile or buggy provider could send, so tests can prove they are refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route


@dataclass
class IdPUser:
    name: str
    groups: list[str] = field(default_factory=list)
    uid: str = ""
    email: str | None = None
    full_name: str | None = None

    def __post_init__(self) -> None:
        # Stable per name, like a real IdP's subject id.
        self.uid = self.uid or hashlib.sha256(self.name.encode()).hexdigest()[:16]


@dataclass
class _Grant:
    user: IdPUser
    client_id: str
    redirect_uri: str
    challenge: str | None
    challenge_method: str | None
    nonce: str | None
    kind: str  # "openshift" | "oidc"
    expires: float


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class LocalIdP:
    """Both identity providers on one port; ``base_url`` is the OpenShift API and OIDC issuer root."""

    def __init__(self) -> None:
        self.port = 0
        self.base_url = ""
        self.clients: dict[str, dict[str, Any]] = {}  # client_id -> {"secret", "redirect_uris"}
        self.current_user: IdPUser | None = None
        self.misbehave: str | None = None
        self.groups_in_id_token = True
        self._codes: dict[str, _Grant] = {}
        self._access_tokens: dict[str, _Grant] = {}
        self._lock = threading.Lock()
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        self.token_requests: list[dict[str, str]] = []
        # Every credential this provider handed out, so tests can look for leaks.
        self.issued_secrets: list[str] = []
        self.app = Starlette(
            routes=[
                Route("/.well-known/oauth-authorization-server", self.openshift_metadata),
                Route("/oauth/authorize", self.openshift_authorize),
                Route("/oauth/token", self.token, methods=["POST"]),
                Route("/apis/user.openshift.io/v1/users/~", self.openshift_user),
                Route("/oidc/.well-known/openid-configuration", self.oidc_metadata),
                Route("/oidc/jwks", self.jwks),
                Route("/oidc/authorize", self.oidc_authorize),
                Route("/oidc/token", self.token, methods=["POST"]),
                Route("/oidc/userinfo", self.userinfo),
                Route("/oidc/logout", self.logout),
            ]
        )
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # --- control -----------------------------------------------------------------
    @property
    def issuer(self) -> str:
        return self.base_url + "/oidc"

    def register_client(self, client_id: str, secret: str | None, redirect_uris: list[str]) -> None:
        known = self.clients.get(client_id, {}).get("redirect_uris", [])
        self.clients[client_id] = {"secret": secret, "redirect_uris": sorted({*known, *redirect_uris})}

    def login_as(self, name: str, groups: list[str] | None = None, **kwargs: Any) -> IdPUser:
        self.current_user = IdPUser(name=name, groups=groups or [], **kwargs)
        return self.current_user

    def start(self) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_config=None, access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test IdP did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    # --- shared authorize/token -------------------------------------------------
    def _authorize(self, request: Request, kind: str) -> Response:
        q = request.query_params
        client = self.clients.get(q.get("client_id", ""))
        redirect_uri = q.get("redirect_uri", "")
        if client is None or redirect_uri not in client["redirect_uris"]:
            return JSONResponse({"error": "invalid_client"}, status_code=400)
        if q.get("response_type") != "code":
            return JSONResponse({"error": "unsupported_response_type"}, status_code=400)
        scopes = set(q.get("scope", "").split())
        if kind == "openshift" and scopes != {"user:info"}:
            return JSONResponse({"error": "invalid_scope"}, status_code=400)
        if kind == "oidc" and ("openid" not in scopes or q.get("code_challenge_method") != "S256"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        if self.current_user is None:
            return RedirectResponse(
                redirect_uri + "?" + urlencode({"error": "access_denied", "state": q.get("state", "")})
            )
        code = secrets.token_urlsafe(24)
        self.issued_secrets.append(code)
        with self._lock:
            self._codes[code] = _Grant(
                user=self.current_user,
                client_id=q["client_id"],
                redirect_uri=redirect_uri,
                challenge=q.get("code_challenge"),
                challenge_method=q.get("code_challenge_method"),
                nonce=q.get("nonce"),
                kind=kind,
                expires=time.time() + 60,
            )
        return RedirectResponse(
            redirect_uri + "?" + urlencode({"code": code, "state": q.get("state", "")}), status_code=302
        )

    async def token(self, request: Request) -> Response:
        form = dict(await request.form())
        self.token_requests.append({k: str(v) for k, v in form.items()})
        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            from urllib.parse import unquote

            raw = base64.b64decode(auth[6:]).decode()
            client_id, _, secret = raw.partition(":")
            client_id, secret = unquote(client_id), unquote(secret)
        client = self.clients.get(str(client_id))
        if client is None or (client["secret"] is not None and client["secret"] != secret):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") != "authorization_code":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        with self._lock:
            grant = self._codes.pop(str(form.get("code")), None)
        if grant is None or grant.expires < time.time() or grant.client_id != client_id:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if grant.redirect_uri != form.get("redirect_uri"):
            return JSONResponse({"error": "invalid_grant", "error_description": "redirect_uri"}, status_code=400)
        if grant.challenge is not None:
            verifier = str(form.get("code_verifier", ""))
            if grant.challenge_method != "S256" or _s256(verifier) != grant.challenge:
                return JSONResponse({"error": "invalid_grant", "error_description": "pkce"}, status_code=400)
        access = ("sha256~" if grant.kind == "openshift" else "at-") + secrets.token_urlsafe(32)
        self.issued_secrets.append(access)
        with self._lock:
            self._access_tokens[access] = grant
        body: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": 300}
        if grant.kind == "openshift":
            body["scope"] = "user:info"
        else:
            body["scope"] = "openid profile email"
            body["id_token"] = self._id_token(grant)
            self.issued_secrets.append(body["id_token"])
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    def _bearer_grant(self, request: Request) -> _Grant | None:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return None
        return self._access_tokens.get(auth[7:])

    # --- OpenShift --------------------------------------------------------------
    async def openshift_metadata(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.base_url,
                "authorization_endpoint": self.base_url + "/oauth/authorize",
                "token_endpoint": self.base_url + "/oauth/token",
                "scopes_supported": ["user:full", "user:info", "user:check-access"],
                "response_types_supported": ["code", "token"],
                "code_challenge_methods_supported": ["plain", "S256"],
            }
        )

    async def openshift_authorize(self, request: Request) -> Response:
        return self._authorize(request, "openshift")

    async def openshift_user(self, request: Request) -> Response:
        grant = self._bearer_grant(request)
        if grant is None or grant.kind != "openshift":
            return JSONResponse({"kind": "Status", "status": "Failure", "code": 401}, status_code=401)
        user = grant.user
        return JSONResponse(
            {
                "kind": "User",
                "apiVersion": "user.openshift.io/v1",
                "metadata": {"name": user.name, "uid": user.uid},
                "fullName": user.full_name,
                "identities": [f"htpasswd:{user.name}"],
                "groups": [*user.groups, "system:authenticated", "system:authenticated:oauth"],
            }
        )

    # --- OIDC -------------------------------------------------------------------
    async def oidc_metadata(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": self.issuer + "/authorize",
                "token_endpoint": self.issuer + "/token",
                "userinfo_endpoint": self.issuer + "/userinfo",
                "jwks_uri": self.issuer + "/jwks",
                "end_session_endpoint": self.issuer + "/logout",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return JSONResponse({"keys": [jwk]})

    async def oidc_authorize(self, request: Request) -> Response:
        return self._authorize(request, "oidc")

    async def userinfo(self, request: Request) -> Response:
        grant = self._bearer_grant(request)
        if grant is None or grant.kind != "oidc":
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse({"sub": grant.user.uid, "preferred_username": grant.user.name, "groups": grant.user.groups})

    async def logout(self, request: Request) -> Response:
        return JSONResponse({"logged_out": True})

    def _id_token(self, grant: _Grant) -> str:
        now = int(time.time())
        user = grant.user
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user.uid,
            "aud": grant.client_id,
            "exp": now + 300,
            "iat": now,
            "auth_time": now,
            "nonce": grant.nonce,
            "preferred_username": user.name,
            "email": user.email,
            "name": user.full_name,
        }
        if self.groups_in_id_token:
            claims["groups"] = user.groups
        mode = self.misbehave
        key: Any = self.key
        headers = {"kid": self.kid}
        algorithm = "RS256"
        if mode == "wrong_nonce":
            claims["nonce"] = "not-the-nonce"
        elif mode == "no_nonce":
            claims.pop("nonce")
        elif mode == "wrong_aud":
            claims["aud"] = "someone-else"
        elif mode == "wrong_iss":
            claims["iss"] = self.base_url + "/evil"
        elif mode == "expired":
            claims["iat"] = now - 7200
            claims["exp"] = now - 3600
        elif mode == "foreign_key":
            key = self.foreign_key
        elif mode == "unknown_kid":
            key = self.foreign_key
            headers = {"kid": "attacker-key"}
        elif mode == "hs256":
            # The classic confusion attack: HMAC "signed" with the client secret / public key.
            algorithm = "HS256"
            key = (self.clients[grant.client_id]["secret"] or "x" * 32).encode()
        token = jwt.encode(claims, key, algorithm=algorithm, headers=headers)
        if mode == "alg_none":
            header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
            payload = token.split(".")[1]
            return f"{header}.{payload}."
        if mode == "tamper":
            header, payload, signature = token.split(".")
            data = json.loads(jwt.utils.base64url_decode(payload))
            data["groups"] = [*data.get("groups", []), "litemaas-admins"]
            forged = json.dumps(data, separators=(",", ":")).encode()
            return ".".join([header, jwt.utils.base64url_encode(forged).decode(), signature])
        return token
