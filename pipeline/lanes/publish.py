"""The publish lane: push the images this run built and validated, by digest, and attest them.

It needs every gate of the run, so it only runs when all passed; it pushes the
very containers those gates checked (no rebuild), signs an attestation for each
digest naming the lanes that passed, and writes the release record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import anyio
import dagger

from pipeline.dag import LaneContext, LaneOutcome, LaneRun
from pipeline.dag.status import RunResult
from pipeline.lanes.context import RunContext
from pipeline.registry import (
    Credentials,
    LaneSummary,
    RegistryClient,
    attest,
    parse_reference,
    publish_record,
)


@dataclass(frozen=True)
class PublishOptions:
    """Where to push (`<repository prefix>/<service>:<tag>`) and how to sign."""

    repository: str                      # e.g. 127.0.0.1:5000/taskflow
    signing_key: dagger.Secret | None = None
    git_revision: str = ""
    contract_sha256: str = ""
    registry_username: str = ""          # with registry_password: login for push and attest
    registry_password: dagger.Secret | None = None


def publish_lane(ctx: RunContext, options: PublishOptions) -> LaneRun:
    async def run(lane: LaneContext) -> LaneOutcome:
        started = datetime.now(UTC)
        images = {need.split(":", 1)[1]: outputs["image"] for need, outputs in lane.upstream.items()
                  if need.startswith("contract:")}
        refs: dict[str, str] = {}
        credentials = None
        if options.registry_username:
            credentials = Credentials(options.registry_username, await options.registry_password.plaintext()
                                      if options.registry_password is not None else "")
        for service, image in sorted(images.items()):
            if options.registry_username and options.registry_password is not None:
                host = options.repository.split("/", 1)[0]
                image = image.with_registry_auth(host, options.registry_username, options.registry_password)
            # publish() answers with the pushed manifest's digest: repo:tag@sha256:...
            pushed = await image.publish(f"{options.repository}/{service}:{ctx.run_id}")
            reference = parse_reference(pushed)
            refs[service] = f"{reference.name}@{reference.digest}"
        passed = sorted(name for name, result in lane.results.items() if result.status.is_success)
        waivers = [w for result in lane.results.values() for w in result.waivers]
        verdict = RunResult(tuple(lane.results.values()), gating=ctx.gating).result
        attestations: dict[str, str] = {}
        if options.signing_key is not None:
            # The key is read into this process only to sign; it is never written anywhere.
            key_pem = (await options.signing_key.plaintext()).encode()
            for service, ref in refs.items():
                client = RegistryClient.for_reference(parse_reference(ref),
                                                      credentials=credentials)
                attestations[service] = await anyio.to_thread.run_sync(partial(
                    attest, client, ref, passed, options.contract_sha256, options.git_revision,
                    key_pem, run_id=ctx.run_id, key_source="signing key secret",
                    waivers=[w.as_dict() for w in waivers if w.subject == service],
                    gating=ctx.gating))
        out = ctx.lane_dir(lane.lane)
        record = out / "release.json"
        publish_record(
            record, run_id=ctx.run_id, git_revision=options.git_revision,
            contract_sha256=options.contract_sha256, images=refs,
            lanes=[LaneSummary(name=name, status=str(result.status),
                               duration_seconds=round(result.duration, 3), message=result.message)
                   for name, result in sorted(lane.results.items())],
            started_at=started, attestations=attestations or None,
            result=verdict, gating=ctx.gating, waivers=[w.as_dict() for w in waivers],
        )
        signed = "signed" if attestations else "unsigned: no signing key given"
        qualified = "" if verdict == "passed" else f", {verdict}"
        return LaneOutcome.success(
            f"published {len(refs)} image(s) by digest ({signed}{qualified})", reports=(record,),
            outputs={**{f"image:{s}": r for s, r in refs.items()},
                     **{f"attestation:{s}": a for s, a in attestations.items()}},
        )

    return run
