"""A small OCI distribution client: the calls promotion needs, byte-exact.

Why not oras-py (evaluated, 0.2.x): its ``upload_manifest`` takes a dict and
re-serialises it (``json=manifest``), which changes the bytes and so the digest;
``get_manifest`` returns parsed JSON (the original bytes are lost) and it only
sends the OCI manifest media type, so Docker v2 manifests and indexes cannot be
re-tagged verbatim; it has no cross-repository mount. Promotion's whole point
is "the same bytes under a new name", so this module speaks the distribution
spec (https://github.com/opencontainers/distribution-spec/blob/main/spec.md)
over httpx and never re-encodes a manifest.

This module is the transport: requests, retries, redirects, bounded bodies, the
command's deadline and byte counters. What it moves is in oci.py, how it logs in
in auth.py and credentials.py (credentials are never part of a repr, log or message).
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from pipeline.errors import (
    RegistryBadResponse,
    RegistryError,
    RegistryProtocolError,
    RegistryRefused,
    RegistryTimeout,
    RegistryUnreachable,
)
from pipeline.registry import auth
from pipeline.registry import deadline as deadlines
from pipeline.registry.credentials import Credentials
from pipeline.registry.oci import DIGEST, MANIFEST_MEDIA_TYPES, Manifest, sha256_digest
from pipeline.registry.reference import ImageReference

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_LOCAL_HOSTS = ("localhost", "127.", "[::1]")

# Caps: whatever a registry sends, a command reads a bounded amount in a bounded
# number of requests. The distribution spec lets registries refuse manifests
# over 4 MiB; the blobs this client reads are attestations and events.
MAX_REDIRECTS = 5
MAX_TAG_PAGES = 100
MAX_TAGS = 100_000
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_JSON_BYTES = 4 * 1024 * 1024
MAX_BLOB_BYTES = 64 * 1024 * 1024
MAX_ERROR_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    """A registry's answer, its body read in full (and bounded) before the connection closed."""

    status_code: int
    reason_phrase: str
    headers: httpx.Headers
    content: bytes
    url: httpx.URL

    def json(self) -> Any:
        return json.loads(self.content)


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


def _dial_url(url: str) -> httpx.URL:
    """`url` with its host dialed as `_dial_host` says (a token service on loopback)."""
    parsed = httpx.URL(url)
    netloc = parsed.netloc.decode("ascii")
    dialed = _dial_host(netloc)
    return parsed if dialed == netloc else parsed.copy_with(netloc=dialed.encode("ascii"))


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
        deadline: deadlines.Deadline | None = None,
    ) -> None:
        self.host = host
        scheme = "http" if (_is_insecure(host) if insecure is None else insecure) else "https"
        self._credentials = credentials
        self._retry = retry or RetryPolicy()
        self._token: str | None = None
        self._timeout = timeout           # per connect/read; the deadline bounds the whole
        self._deadline = deadline or deadlines.current()
        self._http = httpx.Client(
            base_url=f"{scheme}://{_dial_host(host)}", timeout=timeout, transport=transport,
            follow_redirects=False,       # followed by hand: counted, and under the deadline
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
            max_body=MAX_MANIFEST_BYTES,
        )
        if resp.status_code == 404:
            return None
        media_type = resp.headers.get("content-type", "").split(";")[0].strip()
        try:
            manifest = Manifest.from_bytes(resp.content, media_type or None)
        except ValueError as exc:
            raise RegistryBadResponse(
                f"{where}: registry returned a manifest that is not a JSON object") from exc
        if reference.startswith("sha256:") and manifest.digest != reference:
            raise RegistryBadResponse(
                f"{where}: registry returned content of digest {manifest.digest}")
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
            if not DIGEST.match(digest):
                raise RegistryBadResponse(f"{where}: registry answered a malformed digest")
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
            raise RegistryBadResponse(
                f"{where}: registry stored digest {stored[:80]}, sent {manifest.digest}")
        return stored

    # -- blobs -------------------------------------------------------------

    def blob_exists(self, repository: str, digest: str) -> bool:
        where = _where(self.host, repository, digest)
        resp = self._request("HEAD", f"/v2/{repository}/blobs/{digest}", where, allow=(404,))
        return resp.status_code == 200

    def get_blob(self, repository: str, digest: str) -> bytes | None:
        where = _where(self.host, repository, digest)
        resp = self._request("GET", f"/v2/{repository}/blobs/{digest}", where, allow=(404,),
                             max_body=MAX_BLOB_BYTES)
        if resp.status_code == 404:
            return None
        if sha256_digest(resp.content) != digest:
            raise RegistryBadResponse(f"{where}: blob content does not match its digest")
        return resp.content

    def push_blob(self, repository: str, data: bytes) -> str:
        """Monolithic upload (POST then PUT ?digest=); skipped when the blob exists."""
        digest = sha256_digest(data)
        if self.blob_exists(repository, digest):
            return digest
        where = _where(self.host, repository, digest)
        start = self._request("POST", f"/v2/{repository}/blobs/uploads/", where)
        location = _location(start, where)
        # The Location carries upload state (_state=...) in its query: merge, never replace.
        url = str(httpx.URL(location).copy_merge_params({"digest": digest}))  # parsed above
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
        """All tags of a repository, following ``Link`` pagination; [] when unknown.

        At most MAX_TAG_PAGES pages and MAX_TAGS tags; a page linking to one already
        read is a loop (RegistryProtocolError).
        """
        where = _where(self.host, repository, None)
        url: str | None = f"/v2/{repository}/tags/list"
        tags: list[str] = []
        seen: set[str] = set()
        while url:
            if url in seen:
                raise RegistryProtocolError(f"{where}: tags list pagination loops")
            if len(seen) >= MAX_TAG_PAGES:
                raise RegistryProtocolError(
                    f"{where}: tags list has more than {MAX_TAG_PAGES} pages")
            seen.add(url)
            resp = self._request("GET", url, where, allow=(404,), max_body=MAX_JSON_BYTES)
            if resp.status_code == 404:
                return tags
            tags.extend(_tags_page(resp, where))
            if len(tags) > MAX_TAGS:
                raise RegistryProtocolError(f"{where}: more than {MAX_TAGS} tags")
            url = _next_link(resp.headers.get("link"))
        return tags

    # -- transport ---------------------------------------------------------

    def _request(
        self, method: str, url: str, where: str, *, allow: tuple[int, ...] = (),
        max_body: int = MAX_JSON_BYTES, **kwargs: Any,
    ) -> Answer:
        """Send with auth and retries, under the deadline; raise a RegistryError naming
        ``where`` (the subtype says what went wrong)."""
        attempt = 0
        while True:
            try:
                resp = self._send(method, url, max_body=max_body, **kwargs)
            except RegistryError as exc:
                raise type(exc)(f"{where}: {exc.message}", hint=exc.hint) from exc.__cause__
            except httpx.TransportError as exc:
                if isinstance(exc, httpx.TimeoutException) and self._deadline.expired:
                    raise self._timed_out(where) from exc
                if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
                    raise RegistryProtocolError(f"{where}: {type(exc).__name__}") from exc
                if attempt + 1 >= self._retry.attempts:
                    kind = (RegistryProtocolError if isinstance(exc, httpx.ProtocolError)
                            else RegistryUnreachable)
                    what = ("no valid HTTP answer" if kind is RegistryProtocolError
                            else "registry unreachable")
                    raise kind(f"{where}: {what} after {attempt + 1} attempts "
                               f"({type(exc).__name__})") from exc
            except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
                # DecodingError, an unusable URL or header: retrying would not help.
                raise RegistryProtocolError(f"{where}: {type(exc).__name__}") from exc
            else:
                if resp.status_code < 400 or resp.status_code in allow:
                    return resp
                if resp.status_code not in _RETRY_STATUSES or attempt + 1 >= self._retry.attempts:
                    raise RegistryRefused(
                        f"{where}: {method} {self._scrub(_describe_error(resp))}")
            delay = self._retry.delay(attempt)
            if delay >= self._deadline.remaining():
                raise self._timed_out(where)
            time.sleep(delay)
            attempt += 1

    def _scrub(self, text: str) -> str:
        """A registry's own words with our password taken out (a hostile one may quote it)."""
        if self._credentials and self._credentials.password:
            text = text.replace(self._credentials.password, "***")
        if self._token:
            text = text.replace(self._token, "***")
        return text

    def _timed_out(self, where: str = "") -> RegistryTimeout:
        prefix = f"{where}: " if where else ""
        return RegistryTimeout(
            f"{prefix}no complete answer within the {self._deadline.seconds:g}s deadline",
            hint=f"--deadline or ${deadlines.DEADLINE_ENV}")

    def _send(self, method: str, url: str, **kwargs: Any) -> Answer:
        resp = self._send_once(method, url, **kwargs)
        if resp.status_code == 401 and self._authenticate(resp):
            resp = self._send_once(method, url, **kwargs)
        return resp

    def _send_once(self, method: str, url: str, **kwargs: Any) -> Answer:
        headers = dict(kwargs.pop("headers", None) or {})
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        auth = None
        if self._credentials and not self._token:
            auth = (self._credentials.username, self._credentials.password)
        resp = self._exchange(method, url, headers=headers, auth=auth, **kwargs)
        self._count(str(self._http.build_request(method, url).url), kwargs.get("content"), resp)
        return resp

    def _exchange(
        self, method: str, url: str | httpx.URL, *, max_body: int,
        headers: dict[str, str] | None = None, auth: tuple[str, str] | None = None,
        **kwargs: Any,
    ) -> Answer:
        """One request, redirects followed (at most MAX_REDIRECTS), the body read in chunks
        up to `max_body` bytes, every step cut to the deadline."""
        origin: httpx.URL | None = None
        for _ in range(MAX_REDIRECTS + 1):
            remaining = self._deadline.remaining()
            if remaining <= 0:
                raise self._timed_out()
            request = self._http.build_request(
                method, url, headers=headers, timeout=min(self._timeout, remaining), **kwargs)
            origin = origin or request.url
            if request.url.host != origin.host or request.url.port != origin.port:
                # Credentials are for the registry, not for where it redirects (a blob store).
                request.headers.pop("Authorization", None)
                auth = None
            resp = self._http.send(request, auth=auth, stream=True)
            try:
                location = resp.headers.get("location")
                if resp.status_code in _REDIRECT_STATUSES and location:
                    url = request.url.join(location)
                    if resp.status_code == 303 or (resp.status_code in (301, 302)
                                                   and method == "POST"):
                        method, kwargs = "GET", {}
                    continue
                limit = max_body if resp.status_code < 400 else MAX_ERROR_BYTES
                content = self._read_body(resp, limit)
                return Answer(resp.status_code, resp.reason_phrase, resp.headers, content,
                              request.url)
            finally:
                resp.close()
        raise RegistryProtocolError(f"more than {MAX_REDIRECTS} redirects")

    def _read_body(self, resp: httpx.Response, limit: int) -> bytes:
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise RegistryProtocolError(f"answer of {declared} bytes, over the {limit}-byte cap")
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise RegistryProtocolError(f"answer over the {limit}-byte cap")
            chunks.append(chunk)
            if self._deadline.expired:   # a trickle: each read is quick, the whole is not
                raise self._timed_out()
        return b"".join(chunks)

    def _count(self, url: str, content: bytes | None, resp: Answer) -> None:
        digest = _blob_digest(url) if "/blobs/" in url else None
        moved = len(content or b"") + len(resp.content)
        if digest and moved:
            self.stats.by_blob[digest] = self.stats.by_blob.get(digest, 0) + moved

    def _authenticate(self, resp: Answer) -> bool:
        """Answer a 401 challenge: Bearer fetches a token (auth.py), through this client's
        own httpx.Client and exchange: same transport, loopback dial, timeout, deadline."""
        request = auth.token_request(resp.headers)
        if request is None:
            return False
        creds = self._credentials
        basic = (creds.username, creds.password) if creds else None
        shown = request.shown
        try:
            token_resp = self._exchange("GET", _dial_url(request.realm), params=request.query,
                                        auth=basic, max_body=MAX_JSON_BYTES)
        except httpx.TimeoutException as exc:
            if self._deadline.expired:
                raise self._timed_out(f"token service {shown}") from exc
            raise RegistryUnreachable(f"token service {shown} unreachable") from exc
        except httpx.TransportError as exc:
            raise RegistryUnreachable(f"token service {shown} unreachable") from exc
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            raise RegistryProtocolError(f"token service {shown}: {type(exc).__name__}") from exc
        except RegistryError as exc:
            raise type(exc)(f"token service {shown}: {exc.message}", hint=exc.hint) from None
        if token_resp.status_code != 200:
            raise RegistryRefused(f"token service {shown} refused: "
                                  f"{self._scrub(_describe_error(token_resp))}")
        try:
            body = token_resp.json()
        except ValueError:
            body = None
        self._token = auth.token_from(body, request)
        return True

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


def _location(resp: Answer, where: str) -> str:
    location = resp.headers.get("location")
    if not location:
        raise RegistryProtocolError(f"{where}: upload started without a Location header")
    try:
        return str(resp.url.join(location))
    except (httpx.InvalidURL, ValueError):
        raise RegistryProtocolError(f"{where}: the registry's Location is not a URL") from None


def _tags_page(resp: Answer, where: str) -> list[str]:
    try:
        body = resp.json()
    except ValueError:
        body = None
    tags = body.get("tags") if isinstance(body, dict) else ()
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise RegistryBadResponse(f"{where}: tags list is not {{\"tags\": [strings]}}")
    return tags



def _next_link(link: str | None) -> str | None:
    match = re.search(r"<([^>]+)>\s*;\s*rel=\"?next\"?", link or "")
    return match.group(1) if match else None



def _describe_error(resp: Answer) -> str:
    """One line from the distribution error body ({"errors":[{code,message}]})."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        errors = []
    detail = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors[:3]
                       if isinstance(e, dict))[:200]
    # A token that was issued but lacks a right: the challenge says which scope.
    _, challenge = auth.challenge(resp.headers)
    if challenge.get("error") == "insufficient_scope":
        detail = f"credentials not granted {challenge.get('scope', 'the scope asked')}"
    text = f"{resp.status_code} {resp.reason_phrase}"
    return f"{text} ({detail})" if detail else text
