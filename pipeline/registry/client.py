"""A small OCI distribution client: the calls promotion needs, byte-exact.

Why not oras-py (evaluated, 0.2.x): its ``upload_manifest`` takes a dict and
re-serialises it (``json=manifest``), which changes the bytes and so the digest;
``get_manifest`` returns parsed JSON (the original bytes are lost) and it only
sends the OCI manifest media type, so Docker v2 manifests and indexes cannot be
re-tagged verbatim; it has no cross-repository mount. Promotion's whole point
is "the same bytes under a new name", so this module speaks the distribution
spec (https://github.com/opencontainers/distribution-spec/blob/main/spec.md)
over httpx and never re-encodes a manifest.

Credentials come from the caller or the environment (PIPELINE_REGISTRY_USERNAME
/ PIPELINE_REGISTRY_PASSWORD); they are never part of a repr, log or message.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from pipeline.errors import RegistryError
from pipeline.registry.reference import ImageReference

EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
_EMPTY = b"{}"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_MEDIA_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST)
INDEX_MEDIA_TYPES = (OCI_INDEX, DOCKER_LIST)
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_LOCAL_HOSTS = ("localhost", "127.", "[::1]")


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Manifest:
    """A manifest exactly as the registry served it: bytes, media type, digest."""

    data: bytes
    media_type: str
    digest: str

    @classmethod
    def from_bytes(cls, data: bytes, media_type: str | None = None) -> Manifest:
        doc = json.loads(data)
        return cls(data, media_type or doc.get("mediaType") or OCI_MANIFEST, sha256_digest(data))

    def json(self) -> dict[str, Any]:
        return json.loads(self.data)

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_MEDIA_TYPES

    def blob_digests(self) -> list[str]:
        """Config and layer digests (an image manifest's blobs)."""
        doc = self.json()
        blobs = [doc["config"]["digest"]] if "config" in doc else []
        return blobs + [layer["digest"] for layer in doc.get("layers", [])]

    def child_digests(self) -> list[str]:
        """Manifests an index points at."""
        return [m["digest"] for m in self.json().get("manifests", [])]


@dataclass(frozen=True, slots=True)
class Credentials:
    """Registry basic credentials; the password never appears in a repr."""

    username: str
    password: str = field(repr=False)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Credentials | None:
        env = os.environ if environ is None else environ
        user = env.get("PIPELINE_REGISTRY_USERNAME")
        if not user:
            return None
        return cls(user, env.get("PIPELINE_REGISTRY_PASSWORD", ""))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries for transport errors and 429/5xx, with capped exponential backoff."""

    attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 3.0

    def delay(self, attempt: int) -> float:
        return min(self.max_delay, self.base_delay * 2**attempt) * (0.5 + random.random() / 2)


@dataclass(slots=True)
class TransferStats:
    """Blob body bytes moved by this client, by digest (tests and the benchmark prove a
    promotion moves no layer with these)."""

    by_blob: dict[str, int] = field(default_factory=dict)  # digest -> body bytes moved

    def bytes_of(self, digests: list[str]) -> int:
        """Body bytes moved for these blobs (e.g. an image's layers)."""
        return sum(self.by_blob.get(d, 0) for d in digests)


def _is_insecure(host: str) -> bool:
    listed = {h.strip() for h in os.environ.get("PIPELINE_REGISTRY_INSECURE", "").split(",")}
    return host.startswith(_LOCAL_HOSTS) or host in listed


def _dial_host(host: str) -> str:
    """Where to connect for `host`. Inside a Dagger module, loopback is the module's own
    container; PIPELINE_REGISTRY_LOOPBACK (set by pipeline.module there) names the engine's
    host as containers see it, so `127.0.0.1:5000/...` means the same registry on both sides."""
    loopback = os.environ.get("PIPELINE_REGISTRY_LOOPBACK", "")
    if not loopback or not host.startswith(_LOCAL_HOSTS):
        return host
    _, colon, port = host.rpartition(":")
    return f"{loopback}:{port}" if colon and port.isdigit() else loopback


class RegistryClient:
    """Distribution API calls against one registry host."""

    def __init__(
        self,
        host: str,
        *,
        credentials: Credentials | None = None,
        insecure: bool | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.host = host
        scheme = "http" if (_is_insecure(host) if insecure is None else insecure) else "https"
        self._credentials = credentials
        self._retry = retry or RetryPolicy()
        self._token: str | None = None
        self._http = httpx.Client(
            base_url=f"{scheme}://{_dial_host(host)}", timeout=timeout, transport=transport,
            follow_redirects=True,
        )
        self.stats = TransferStats()

    @classmethod
    def for_reference(cls, ref: ImageReference, *, credentials: Credentials | None = None,
                      **kwargs: Any) -> RegistryClient:
        """A client for ``ref``'s registry: ``credentials``, else those in the environment."""
        return cls(ref.host, credentials=credentials or Credentials.from_env(), **kwargs)

    def __repr__(self) -> str:
        return f"RegistryClient(host={self.host!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- manifests ---------------------------------------------------------

    def get_manifest(self, repository: str, reference: str) -> Manifest | None:
        """The manifest under a tag or digest, byte-exact; None when unknown."""
        where = _where(self.host, repository, reference)
        resp = self._request(
            "GET", f"/v2/{repository}/manifests/{reference}", where,
            headers={"Accept": ", ".join(MANIFEST_MEDIA_TYPES)}, allow=(404,),
        )
        if resp.status_code == 404:
            return None
        media_type = resp.headers.get("content-type", "").split(";")[0].strip()
        try:
            manifest = Manifest.from_bytes(resp.content, media_type or None)
        except (ValueError, AttributeError) as exc:
            raise RegistryError(f"{where}: registry returned a manifest that is not JSON") from exc
        if reference.startswith("sha256:") and manifest.digest != reference:
            raise RegistryError(f"{where}: registry returned content of digest {manifest.digest}")
        return manifest

    def head_manifest(self, repository: str, reference: str) -> str | None:
        """The digest a tag (or digest) resolves to; None when unknown."""
        where = _where(self.host, repository, reference)
        resp = self._request(
            "HEAD", f"/v2/{repository}/manifests/{reference}", where,
            headers={"Accept": ", ".join(MANIFEST_MEDIA_TYPES)}, allow=(404,),
        )
        if resp.status_code == 404:
            return None
        digest = resp.headers.get("docker-content-digest")
        if digest:
            return digest
        manifest = self.get_manifest(repository, reference)  # registries may omit the header
        return manifest.digest if manifest else None

    def put_manifest(self, repository: str, reference: str, manifest: Manifest) -> str:
        """Store ``manifest.data`` unchanged under a tag or its digest; returns the digest."""
        where = _where(self.host, repository, reference)
        resp = self._request(
            "PUT", f"/v2/{repository}/manifests/{reference}", where,
            content=manifest.data, headers={"Content-Type": manifest.media_type},
        )
        stored = resp.headers.get("docker-content-digest", manifest.digest)
        if stored != manifest.digest:
            raise RegistryError(f"{where}: registry stored digest {stored}, sent {manifest.digest}")
        return stored

    # -- blobs -------------------------------------------------------------

    def blob_exists(self, repository: str, digest: str) -> bool:
        where = _where(self.host, repository, digest)
        resp = self._request("HEAD", f"/v2/{repository}/blobs/{digest}", where, allow=(404,))
        return resp.status_code == 200

    def get_blob(self, repository: str, digest: str) -> bytes | None:
        where = _where(self.host, repository, digest)
        resp = self._request("GET", f"/v2/{repository}/blobs/{digest}", where, allow=(404,))
        if resp.status_code == 404:
            return None
        if sha256_digest(resp.content) != digest:
            raise RegistryError(f"{where}: blob content does not match its digest")
        return resp.content

    def empty_config(self, repository: str) -> dict[str, Any]:
        """The descriptor of OCI's empty config (``{}``), pushed to ``repository``: the config
        of an artifact that carries its content in layers or annotations."""
        return {"mediaType": EMPTY_MEDIA_TYPE, "size": len(_EMPTY),
                "digest": self.push_blob(repository, _EMPTY)}

    def push_blob(self, repository: str, data: bytes) -> str:
        """Monolithic upload (POST then PUT ?digest=); skipped when the blob exists."""
        digest = sha256_digest(data)
        if self.blob_exists(repository, digest):
            return digest
        where = _where(self.host, repository, digest)
        start = self._request("POST", f"/v2/{repository}/blobs/uploads/", where)
        location = _location(start, where)
        # The Location carries upload state (_state=...) in its query: merge, never replace.
        url = str(httpx.URL(location).copy_merge_params({"digest": digest}))
        self._request(
            "PUT", url, where, content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        return digest

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Cross-repository mount: link a blob without moving its bytes.

        True when mounted (201). A registry that cannot mount answers 202 with an
        upload session instead; that session is cancelled and False returned.
        """
        where = _where(self.host, repository, digest)
        resp = self._request(
            "POST", f"/v2/{repository}/blobs/uploads/", where,
            params={"mount": digest, "from": from_repository},
        )
        if resp.status_code == 201:
            return True
        self._request("DELETE", _location(resp, where), where, allow=(404,))
        return False

    # -- tags --------------------------------------------------------------

    def list_tags(self, repository: str) -> list[str]:
        """All tags of a repository, following ``Link`` pagination; [] when unknown."""
        where = _where(self.host, repository, None)
        url: str | None = f"/v2/{repository}/tags/list"
        tags: list[str] = []
        while url:
            resp = self._request("GET", url, where, allow=(404,))
            if resp.status_code == 404:
                return tags
            tags.extend(resp.json().get("tags") or [])
            url = _next_link(resp.headers.get("link"))
        return tags

    # -- transport ---------------------------------------------------------

    def _request(
        self, method: str, url: str, where: str, *, allow: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with auth and retries; raise RegistryError naming ``where``."""
        attempt = 0
        while True:
            try:
                resp = self._send(method, url, **kwargs)
            except RegistryError as exc:  # from the token service: say what was asked for
                raise RegistryError(f"{where}: {exc}") from exc.__cause__
            except httpx.TransportError as exc:
                if attempt + 1 >= self._retry.attempts:
                    raise RegistryError(
                        f"{where}: registry unreachable after {attempt + 1} attempts "
                        f"({type(exc).__name__})"
                    ) from exc
            else:
                if resp.status_code < 400 or resp.status_code in allow:
                    return resp
                if resp.status_code not in _RETRY_STATUSES or attempt + 1 >= self._retry.attempts:
                    raise RegistryError(f"{where}: {method} {_describe_error(resp)}")
            time.sleep(self._retry.delay(attempt))
            attempt += 1

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        resp = self._send_once(method, url, **kwargs)
        if resp.status_code == 401 and self._authenticate(resp):
            resp = self._send_once(method, url, **kwargs)
        return resp

    def _send_once(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        auth = None
        if self._credentials and not self._token:
            auth = (self._credentials.username, self._credentials.password)
        resp = self._http.request(method, url, headers=headers, auth=auth, **kwargs)
        self._count(str(resp.request.url), kwargs.get("content"), resp)
        return resp

    def _count(self, url: str, content: bytes | None, resp: httpx.Response) -> None:
        digest = _blob_digest(url) if "/blobs/" in url else None
        moved = len(content or b"") + len(resp.content)
        if digest and moved:
            self.stats.by_blob[digest] = self.stats.by_blob.get(digest, 0) + moved

    def _authenticate(self, resp: httpx.Response) -> bool:
        """Answer a 401 challenge: Basic uses the credentials, Bearer fetches a token."""
        scheme, params = _challenge(resp)
        # Basic credentials are sent up front, so a Basic challenge means "refused".
        if scheme.lower() != "bearer":
            return False
        realm = params.pop("realm", None)
        if not realm:
            return False
        # The challenge joins scopes with spaces (a cross-repository mount needs two);
        # the token protocol takes one `scope` parameter per scope.
        query = [(k, v) for k, v in params.items() if k != "scope"]
        query += [("scope", scope) for scope in params.get("scope", "").split()]
        creds = self._credentials
        auth = (creds.username, creds.password) if creds else None
        try:
            token_resp = httpx.get(realm, params=query, auth=auth, timeout=30.0)
        except httpx.TransportError as exc:
            raise RegistryError(f"token service {realm} unreachable") from exc
        if token_resp.status_code != 200:
            raise RegistryError(f"token service {realm} refused: {_describe_error(token_resp)}")
        body = token_resp.json()
        self._token = body.get("token") or body.get("access_token")
        return bool(self._token)


def _where(host: str, repository: str, reference: str | None) -> str:
    if reference is None:
        return f"{host}/{repository}"
    sep = "@" if reference.startswith("sha256:") else ":"
    return f"{host}/{repository}{sep}{reference}"


def _blob_digest(url: str) -> str | None:
    """The blob a request moves: /blobs/<digest> or an upload's ?digest=<digest>."""
    parsed = httpx.URL(url)
    if "/blobs/uploads/" in parsed.path:
        return parsed.params.get("digest")
    tail = parsed.path.rsplit("/", 1)[-1]
    return tail if tail.startswith("sha256:") else None


def _location(resp: httpx.Response, where: str) -> str:
    location = resp.headers.get("location")
    if not location:
        raise RegistryError(f"{where}: upload started without a Location header")
    return location


def _next_link(link: str | None) -> str | None:
    match = re.search(r"<([^>]+)>\s*;\s*rel=\"?next\"?", link or "")
    return match.group(1) if match else None


def _challenge(resp: httpx.Response) -> tuple[str, dict[str, str]]:
    """A 401's WWW-Authenticate: its scheme and its key="value" parameters."""
    scheme, _, rest = resp.headers.get("www-authenticate", "").partition(" ")
    return scheme, dict(re.findall(r'(\w+)="([^"]*)"', rest))


def _describe_error(resp: httpx.Response) -> str:
    """One line from the distribution error body ({"errors":[{code,message}]})."""
    try:
        errors = resp.json().get("errors") or []
        detail = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)
    except (ValueError, AttributeError):
        detail = ""
    # A token that was issued but lacks a right: the challenge says which scope.
    _, challenge = _challenge(resp)
    if challenge.get("error") == "insufficient_scope":
        detail = f"credentials not granted {challenge.get('scope', 'the scope asked')}"
    text = f"{resp.status_code} {resp.reason_phrase}"
    return f"{text} ({detail})" if detail else text
