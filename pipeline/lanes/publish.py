"""The publish lane: push the images this run built and validated, by digest, and attest them.

It needs every gate of the run, so it only runs when all passed; it pushes the
very containers those gates checked (no rebuild) to `<repository>/<service>` (or
`<repository>/<project>-<service>` with `[release] project`), tags them
(pipeline.registry.naming), signs an attestation for each digest naming the lanes
that passed, stores the release (all the digests as one, signed:
pipeline.registry.releases) and writes the release record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import anyio
import dagger

from pipeline.dag import LaneContext, LaneOutcome, LaneRun
from pipeline.dag.status import RunResult
from pipeline.errors import RegistryError
from pipeline.lanes.context import RunContext, with_registry_auth
from pipeline.lanes.outputs import Upstream
from pipeline.registry import (
    Credentials,
    RecordedLane,
    RegistryClient,
    attest,
    parse_reference,
    publish_record,
)
from pipeline.registry.naming import image_repository, publish_tags
from pipeline.registry.releases import new_release, publish_release, releases_repository


@dataclass(frozen=True)
class PublishOptions:
    """Where to push (`<repository prefix>/<service>:<tag>`) and how to sign."""

    repository: str                      # e.g. 127.0.0.1:5000/taskflow
    signing_key: dagger.Secret | None = None
    git_revision: str = ""
    contract_sha256: str = ""
    registry_username: str = ""          # with registry_password: login for push and attest
    registry_password: dagger.Secret | None = None
    version: str = ""                    # semver tag (see naming.publish_tags)
    branch: str = ""                     # branch builds also get <version>-<branch>


def publish_lane(ctx: RunContext, options: PublishOptions) -> LaneRun:
    async def run(lane: LaneContext) -> LaneOutcome:
        started = datetime.now(UTC)
        # The very containers the build lanes made and every gate checked: no rebuild.
        images = Upstream(lane).images()
        refs: dict[str, str] = {}
        credentials = None
        if options.registry_username:
            credentials = await Credentials.from_secret(options.registry_username,
                                                        options.registry_password)
        project = ctx.contract.release.project
        host = options.repository.split("/", 1)[0]
        tags = publish_tags(host, version=options.version, branch=options.branch,
                            run_id=ctx.run_id)
        for service, image in sorted(images.items()):
            image = image.with_(with_registry_auth(host, options.registry_username,
                                                   options.registry_password))
            # publish() answers with the pushed manifest's digest: repo:tag@sha256:...
            target = image_repository(options.repository, service, project)
            pushed = await image.publish(f"{target}:{tags[0]}")
            reference = parse_reference(pushed)
            refs[service] = f"{reference.name}@{reference.digest}"
        passed = sorted(name for name, result in lane.results.items() if result.status.is_success)
        waivers = _waivers(ctx, lane)
        verdict = RunResult(tuple(lane.results.values()), gating=ctx.gating).result
        release = new_release(
            refs, lanes_passed=passed, contract_sha256=options.contract_sha256,
            git_revision=options.git_revision, run_id=ctx.run_id, waivers=waivers,
            ports={name: spec.port for name, spec in ctx.contract.services.items()},
            version=options.version or None)
        key_pem = None
        if options.signing_key is not None:
            # The key is read into this process only to sign; it is never written anywhere.
            key_pem = (await options.signing_key.plaintext()).encode()
        attestations: dict[str, str] = {}
        with RegistryClient.for_reference(parse_reference(options.repository),
                                          credentials=credentials) as client:
            for service, ref in refs.items():
                await anyio.to_thread.run_sync(partial(_retag, client, ref, tags[1:]))
                if key_pem is not None:
                    attestations[service] = await anyio.to_thread.run_sync(partial(
                        attest, client, ref, passed, options.contract_sha256,
                        options.git_revision, key_pem, run_id=ctx.run_id,
                        key_source="signing key secret", release=release.id,
                        release_services=sorted(refs),
                        waivers=[w for w in waivers if w.get("subject") == service],
                        gating=ctx.gating))
            releases = releases_repository(options.repository, project)
            await anyio.to_thread.run_sync(partial(
                publish_release, client, releases, release, key_pem,
                key_source="signing key secret"))
        out = ctx.lane_dir(lane.lane)
        record = out / "release.json"
        publish_record(
            record, run_id=ctx.run_id, git_revision=options.git_revision,
            contract_sha256=options.contract_sha256, images=refs,
            lanes=[RecordedLane(name=name, status=str(result.status),
                               duration_seconds=round(result.duration, 3), message=result.message)
                   for name, result in sorted(lane.results.items())],
            started_at=started, attestations=attestations or None,
            release=release.id, release_repository=releases,
            result=verdict, gating=ctx.gating, waivers=waivers,
        )
        signed = "signed" if attestations else "unsigned: no signing key given"
        qualified = "" if verdict == "passed" else f", {verdict}"
        return LaneOutcome.success(
            f"published release {release.id} to {releases}: {len(refs)} image(s) by digest "
            f"({signed}{qualified})", reports=(record,),
            outputs={**{f"image:{s}": r for s, r in refs.items()},
                     **{f"attestation:{s}": a for s, a in attestations.items()},
                     "release": release.id, "release_repository": releases},
        )

    return run


def _retag(client: RegistryClient, ref: str, tags: list[str]) -> None:
    """Put the pushed manifest under further tags, byte for byte (no layer moves)."""
    image = parse_reference(ref)
    manifest = client.get_manifest(image.repository, image.digest or "")
    if manifest is None:
        raise RegistryError(f"{ref}: pushed image not found in the registry")
    for tag in tags:
        client.put_manifest(image.repository, tag, manifest)


def _waivers(ctx: RunContext, lane: LaneContext) -> list:
    """Waivers the run applied (the run result carries them once waivers exist), else []."""
    found = list(getattr(ctx, "waivers", None) or [])
    for result in lane.results.values():
        found.extend(getattr(result, "waivers", None) or [])
    return [w.as_dict() if hasattr(w, "as_dict") else w for w in found]
