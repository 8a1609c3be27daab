"""Identity providers: OpenShift OAuth and generic OIDC (Authlib for the OAuth client work).

Each provider turns an authorization-code callback into a ``LoginIdentity``. Neither keeps
anything in process memory between the redirect and the callback: the state, nonce and
PKCE verifier live in the ``oauth_states`` table.
"""

from __future__ import annotations

import ssl
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx
import jwt
import structlog
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client

from litemaas.auth.errors import IdentityProviderUnavailable, LoginFailed
from litemaas.auth.identity import LoginIdentity
from litemaas.config import Settings

log = structlog.get_logger("litemaas.auth.providers")

OPENSHIFT = "openshift"
OIDC = "oidc"
SA_TOKEN_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
# Asymmetric algorithms only: an HS* ID token would be "signed" with a shared secret,
# and "none" is never acceptable.
ID_TOKEN_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
_METADATA_TTL = 3600.0
# An unknown "kid" triggers a JWKS refetch (key rotation), at most this often.
_JWKS_MIN_REFRESH = 10.0
_CLOCK_SKEW = 60


class IdentityProvider(Protocol):
    name: str
    label: str

    async def authorization_url(self, *, state: str, nonce: str | None, code_verifier: str | None) -> str: ...

    async def complete(self, *, code: str, nonce: str | None, code_verifier: str | None) -> LoginIdentity: ...

    async def logout_url(self) -> str | None: ...

    async def aclose(self) -> None: ...


def _verify(ca_file: Path | None) -> ssl.SSLContext:
    # Built once per provider: loading CA bundles for every client costs tens of ms.
    if ca_file is None:
        return httpx.create_ssl_context()
    return ssl.create_default_context(cafile=str(ca_file))


def _oauth_error(exc: OAuthError) -> str:
    return str(exc.error or "oauth_error")[:100]


class OpenShiftProvider:
    """OpenShift's OAuth server (``OAuthClient`` or ServiceAccount client) and user API."""

    name = OPENSHIFT
    label = "OpenShift"

    def __init__(self, settings: Settings) -> None:
        if not settings.openshift_api_url or not settings.openshift_client_id:
            raise ValueError("OpenShift login needs LITEMAAS_OPENSHIFT_API_URL and LITEMAAS_OPENSHIFT_CLIENT_ID")
        self.api_url = settings.openshift_api_url.rstrip("/")
        self.oauth_url = settings.openshift_oauth_url.rstrip("/") if settings.openshift_oauth_url else None
        self.client_id = settings.openshift_client_id
        self._secret = settings.openshift_client_secret
        self._secret_file = settings.openshift_client_secret_file
        if self._secret is None and self._secret_file is None and self.client_id.startswith("system:serviceaccount:"):
            self._secret_file = SA_TOKEN_FILE
        self.redirect_uri = settings.public_url.rstrip("/") + "/auth/openshift/callback"
        self._tls = _verify(settings.openshift_ca_file)
        self._http = httpx.AsyncClient(verify=self._tls, timeout=10.0)
        self._endpoints: tuple[float, str, str] | None = None

    def _client_secret(self) -> str:
        # A ServiceAccount token is rotated by the kubelet: read it at each use.
        if self._secret_file is not None:
            return self._secret_file.read_text().strip()
        if self._secret is None:
            raise LoginFailed("OpenShift client secret is not configured")
        return self._secret.get_secret_value()

    def _client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self._client_secret(),
            scope="user:info",
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            # Form post, not Basic: ServiceAccount client ids contain ':' which Basic
            # auth cannot carry unencoded (and Authlib does not encode it).
            token_endpoint_auth_method="client_secret_post",  # noqa: S106  an OAuth client authentication method's name, not a password
            verify=self._tls,
            timeout=10.0,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _oauth_endpoints(self) -> tuple[str, str]:
        if self.oauth_url is not None:
            return f"{self.oauth_url}/oauth/authorize", f"{self.oauth_url}/oauth/token"
        if self._endpoints is not None and self._endpoints[0] > time.monotonic():
            return self._endpoints[1], self._endpoints[2]
        try:
            response = await self._http.get(f"{self.api_url}/.well-known/oauth-authorization-server")
            response.raise_for_status()
            data = response.json()
            authorize, token = str(data["authorization_endpoint"]), str(data["token_endpoint"])
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise IdentityProviderUnavailable("OpenShift OAuth metadata is unavailable") from exc
        self._endpoints = (time.monotonic() + _METADATA_TTL, authorize, token)
        return authorize, token

    async def authorization_url(self, *, state: str, nonce: str | None, code_verifier: str | None) -> str:
        authorize, _ = await self._oauth_endpoints()
        async with self._client() as client:
            url, _ = client.create_authorization_url(authorize, state=state, code_verifier=code_verifier)
        return str(url)

    async def complete(self, *, code: str, nonce: str | None, code_verifier: str | None) -> LoginIdentity:
        _, token_endpoint = await self._oauth_endpoints()
        try:
            async with self._client() as client:
                token = await client.fetch_token(token_endpoint, code=code, code_verifier=code_verifier)
        except OAuthError as exc:
            log.info("auth.openshift.token.rejected", error=_oauth_error(exc))
            raise LoginFailed("OpenShift refused the authorization code") from None
        except httpx.HTTPError as exc:
            raise IdentityProviderUnavailable("OpenShift OAuth server is unavailable") from exc
        access_token = token.get("access_token")
        if not access_token:
            raise LoginFailed("OpenShift returned no access token")
        try:
            response = await self._http.get(
                f"{self.api_url}/apis/user.openshift.io/v1/users/~",
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise IdentityProviderUnavailable("OpenShift user API is unavailable") from exc
        if response.status_code != HTTPStatus.OK:
            log.info("auth.openshift.user.rejected", status=response.status_code)
            raise LoginFailed("OpenShift user API refused the access token")
        data = response.json()
        metadata = data.get("metadata") or {}
        name = metadata.get("name")
        if not isinstance(name, str) or not name:
            raise LoginFailed("OpenShift user has no name")
        groups = tuple(str(g) for g in data.get("groups") or [] if isinstance(g, str))
        return LoginIdentity(
            provider=OPENSHIFT,
            subject=str(metadata.get("uid") or name),
            username=name,
            email=name if "@" in name else None,
            display_name=data.get("fullName") or None,
            groups=groups,
        )

    async def logout_url(self) -> str | None:
        return None


def _claim(claims: dict[str, Any], path: str) -> Any:
    """A claim by name, or by dotted path for nested claims (``realm_access.roles``)."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


class OIDCProvider:
    """A generic OpenID Connect provider: discovery, PKCE S256, nonce, verified ID tokens."""

    name = OIDC
    label = "Single sign-on"

    def __init__(self, settings: Settings) -> None:
        if not settings.oidc_issuer or not settings.oidc_client_id:
            raise ValueError("OIDC login needs LITEMAAS_OIDC_ISSUER and LITEMAAS_OIDC_CLIENT_ID")
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self._secret = settings.oidc_client_secret
        self.scopes = settings.oidc_scopes
        self.groups_claim = settings.oidc_groups_claim
        self.username_claim = settings.oidc_username_claim
        self.redirect_uri = settings.public_url.rstrip("/") + "/auth/oidc/callback"
        self.post_logout_redirect_uri = settings.public_url.rstrip("/") + "/login"
        self._tls = _verify(settings.oidc_ca_file)
        self._http = httpx.AsyncClient(verify=self._tls, timeout=10.0)
        self._metadata: tuple[float, dict[str, Any]] | None = None
        self._jwks: tuple[float, jwt.PyJWKSet] | None = None

    async def aclose(self) -> None:
        await self._http.aclose()

    def _client(self, metadata: dict[str, Any]) -> AsyncOAuth2Client:
        secret = self._secret.get_secret_value() if self._secret is not None else None
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=secret,
            scope=self.scopes,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if secret else "none",
            verify=self._tls,
            timeout=10.0,
        )

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is not None and self._metadata[0] > time.monotonic():
            return self._metadata[1]
        url = self.issuer + "/.well-known/openid-configuration"
        try:
            response = await self._http.get(url)
            response.raise_for_status()
            data: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise IdentityProviderUnavailable("the identity provider's discovery document is unavailable") from exc
        if not isinstance(data, dict):
            raise LoginFailed("the identity provider's discovery document is not a JSON object")
        if str(data.get("issuer", "")).rstrip("/") != self.issuer:
            # OIDC Discovery §4.3: the document must name the issuer we asked.
            raise LoginFailed("the identity provider's discovery document names another issuer")
        for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(data.get(field), str):
                raise LoginFailed(f"the identity provider's discovery document lacks {field}")
        self._metadata = (time.monotonic() + _METADATA_TTL, data)
        return data

    async def _jwk_set(self, *, refresh: bool) -> jwt.PyJWKSet:
        if self._jwks is not None:
            fetched_at, keys = self._jwks
            fresh = time.monotonic() - fetched_at < _METADATA_TTL
            if fresh and (not refresh or time.monotonic() - fetched_at < _JWKS_MIN_REFRESH):
                return keys
        metadata = await self.metadata()
        try:
            response = await self._http.get(metadata["jwks_uri"])
            response.raise_for_status()
            keys = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as exc:
            raise IdentityProviderUnavailable("the identity provider's signing keys are unavailable") from exc
        self._jwks = (time.monotonic(), keys)
        return keys

    async def _signing_key(self, kid: str | None, alg: str) -> jwt.PyJWK:
        for refresh in (False, True):
            keys = await self._jwk_set(refresh=refresh)
            candidates = [k for k in keys.keys if (kid is None or k.key_id == kid)]
            candidates = [k for k in candidates if k.public_key_use in (None, "sig")]
            if kid is None and len(candidates) > 1:
                candidates = [k for k in candidates if getattr(k, "algorithm_name", None) == alg] or candidates
            if candidates:
                return candidates[0]
        raise LoginFailed("the ID token is signed by an unknown key")

    async def verify_id_token(self, id_token: str, *, nonce: str | None) -> dict[str, Any]:
        metadata = await self.metadata()
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.InvalidTokenError:
            raise LoginFailed("the ID token is malformed") from None
        alg = header.get("alg")
        supported = set(metadata.get("id_token_signing_alg_values_supported") or ["RS256"])
        if alg not in ID_TOKEN_ALGORITHMS or alg not in supported:
            raise LoginFailed("the ID token uses a refused signature algorithm")
        key = await self._signing_key(header.get("kid"), str(alg))
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key=key.key,
                algorithms=[str(alg)],
                audience=self.client_id,
                issuer=str(metadata["issuer"]),
                leeway=_CLOCK_SKEW,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            log.info("auth.oidc.id_token.rejected", reason=type(exc).__name__)
            raise LoginFailed("the ID token failed verification") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise LoginFailed("the ID token was issued to another party")
        if nonce is None or claims.get("nonce") != nonce:
            raise LoginFailed("the ID token nonce does not match this login")
        return claims

    async def authorization_url(self, *, state: str, nonce: str | None, code_verifier: str | None) -> str:
        metadata = await self.metadata()
        async with self._client(metadata) as client:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"], state=state, nonce=nonce, code_verifier=code_verifier
            )
        return str(url)

    async def complete(self, *, code: str, nonce: str | None, code_verifier: str | None) -> LoginIdentity:
        metadata = await self.metadata()
        try:
            async with self._client(metadata) as client:
                token = await client.fetch_token(metadata["token_endpoint"], code=code, code_verifier=code_verifier)
        except OAuthError as exc:
            log.info("auth.oidc.token.rejected", error=_oauth_error(exc))
            raise LoginFailed("the identity provider refused the authorization code") from None
        except httpx.HTTPError as exc:
            raise IdentityProviderUnavailable("the identity provider is unavailable") from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise LoginFailed("the identity provider returned no ID token")
        claims = await self.verify_id_token(id_token, nonce=nonce)
        groups_value = _claim(claims, self.groups_claim)
        userinfo_endpoint = metadata.get("userinfo_endpoint")
        if groups_value is None and isinstance(userinfo_endpoint, str) and token.get("access_token"):
            groups_value = await self._groups_from_userinfo(userinfo_endpoint, str(token["access_token"]), claims)
        if isinstance(groups_value, str):
            groups_value = [groups_value]
        groups = tuple(str(g).lstrip("/") for g in groups_value or [] if isinstance(g, str))
        username = next(
            (
                str(v)
                for v in (_claim(claims, self.username_claim), claims.get("preferred_username"), claims.get("email"))
                if isinstance(v, str) and v
            ),
            str(claims["sub"]),
        )
        email = claims.get("email") if isinstance(claims.get("email"), str) else None
        return LoginIdentity(
            provider=OIDC,
            subject=str(claims["sub"]),
            username=username,
            email=email,
            display_name=claims.get("name") if isinstance(claims.get("name"), str) else None,
            groups=groups,
        )

    async def _groups_from_userinfo(self, endpoint: str, access_token: str, id_claims: dict[str, Any]) -> Any:
        try:
            response = await self._http.get(endpoint, headers={"Authorization": f"Bearer {access_token}"})
            response.raise_for_status()
            info = response.json()
        except (httpx.HTTPError, ValueError):
            log.info("auth.oidc.userinfo.unavailable")
            return None
        # OIDC Core §5.3.2: userinfo for another subject must be ignored.
        if not isinstance(info, dict) or info.get("sub") != id_claims.get("sub"):
            return None
        groups: Any = _claim(info, self.groups_claim)
        return groups

    async def logout_url(self) -> str | None:
        try:
            metadata = await self.metadata()
        except (IdentityProviderUnavailable, LoginFailed):
            return None
        endpoint = metadata.get("end_session_endpoint")
        if not isinstance(endpoint, str):
            return None
        query = urlencode({"client_id": self.client_id, "post_logout_redirect_uri": self.post_logout_redirect_uri})
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def build_providers(settings: Settings) -> dict[str, IdentityProvider]:
    providers: dict[str, IdentityProvider] = {}
    if settings.openshift_client_id:
        providers[OPENSHIFT] = OpenShiftProvider(settings)
    if settings.oidc_issuer:
        providers[OIDC] = OIDCProvider(settings)
    return providers
