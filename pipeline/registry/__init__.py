"""Registry side of a release: publish records, attestations, stages, promotion, rendering.

No Dagger here: the publish lane (pipeline/lanes/) pushes images and then calls
``attest`` and ``publish_record``; the CLI and the module call ``promote``,
``rollback`` and ``render`` with the same arguments.
"""

from __future__ import annotations

from pipeline.registry.attestation import attest, verify_attestation
from pipeline.registry.client import Credentials, RegistryClient, RetryPolicy
from pipeline.registry.promotion import PromotionEvent, promote, rollback
from pipeline.registry.reference import ImageReference, parse_reference, require_digest
from pipeline.registry.release import LaneSummary, ReleaseRecord, publish_record
from pipeline.registry.render import ServiceImage, render, resolve_stage

__all__ = [
    "Credentials", "ImageReference", "LaneSummary", "PromotionEvent", "RegistryClient",
    "ReleaseRecord", "RetryPolicy", "ServiceImage", "attest", "parse_reference",
    "promote", "publish_record", "render", "require_digest", "resolve_stage", "rollback",
    "verify_attestation",
]
