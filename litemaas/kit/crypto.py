"""Random secrets and one-way hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path


def random_token(nbytes: int = 32) -> str:
    """A URL-safe random string with ``nbytes`` of entropy."""
    return secrets.token_urlsafe(nbytes)


def stored_secret(path: Path, prefix: str = "") -> str:
    """A generated secret kept in ``path`` (mode 0600, tightened if looser), the same on every call."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        value = path.read_text().strip()
        if not value:
            raise ValueError(f"{path} is empty: remove it to generate a new secret") from None
        return value
    value = prefix + random_token(32)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value


def sha256_hex(value: str) -> str:
    """Hex sha256 of a UTF-8 string (how secrets are stored at rest)."""
    return hashlib.sha256(value.encode()).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    """Compare two strings without leaking where they differ."""
    return hmac.compare_digest(a.encode(), b.encode())


def pkce_s256_challenge(verifier: str) -> str:
    """The PKCE S256 code challenge for ``verifier`` (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
