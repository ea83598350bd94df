"""Registry authentication: WWW-Authenticate challenges and bearer tokens.

Basic credentials are sent up front, so a 401 with a Basic challenge means
"refused". A Bearer challenge (Docker's token protocol, as GHCR, Docker Hub,
Harbor and GitLab speak it) names a token service: the client asks it for a
token with its Basic credentials, then retries with the token. The token is
fetched by the client itself (RegistryClient._authenticate), through its own
httpx.Client: the same transport, loopback dial, timeouts and deadline as every
other request. This module only reads challenges and token answers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from pipeline.errors import RegistryBadResponse


def challenge(headers: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """A 401's WWW-Authenticate: its scheme and its key="value" parameters."""
    scheme, _, rest = headers.get("www-authenticate", "").partition(" ")
    return scheme, dict(re.findall(r'(\w+)="([^"]*)"', rest))


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """Where to ask for a bearer token, and the query to ask with."""

    realm: str
    query: list[tuple[str, str]]

    @property
    def shown(self) -> str:
        """The token service for a message."""
        return shown_url(self.realm)


def token_request(headers: Mapping[str, str]) -> TokenRequest | None:
    """The token to fetch for a 401 with these headers; None when it is not a Bearer
    challenge naming a realm (nothing to answer it with)."""
    scheme, params = challenge(headers)
    realm = params.pop("realm", None)
    if scheme.lower() != "bearer" or not realm:
        return None
    # The challenge joins scopes with spaces (a cross-repository mount needs two);
    # the token protocol takes one `scope` parameter per scope.
    query = [(k, v) for k, v in params.items() if k != "scope"]
    query += [("scope", scope) for scope in params.get("scope", "").split()]
    return TokenRequest(realm, query)


def token_from(body: Any, request: TokenRequest) -> str:
    """The token in a token service's JSON answer; RegistryBadResponse without one."""
    token = (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise RegistryBadResponse(f"token service {request.shown} answered no token")
    return token


def shown_url(url: str) -> str:
    """A URL for a message: no userinfo, no query, bounded."""
    try:
        parsed = httpx.URL(url)
        text = f"{parsed.scheme}://{parsed.host}{parsed.path}"
    except (httpx.InvalidURL, ValueError):
        text = "(malformed URL)"
    return text[:200]
