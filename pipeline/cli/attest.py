"""`attest`, `verify`, `keygen`: signed validation attestations beside image digests."""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError
from pipeline.registry import deadline, keyenv
from pipeline.textsafe import printable


def register(subparsers: Any) -> None:

    a = subparsers.add_parser("attest", help="sign and store a validation attestation for a digest")
    a.add_argument("--image", required=True, help="REPO@sha256:...")
    a.add_argument("--lane", action="append", default=[], help="a lane that passed (repeatable)")
    a.add_argument("--failed-lane", action="append", default=[], help="a lane that failed")
    group = a.add_mutually_exclusive_group(required=True)
    group.add_argument("--contract", help="contract file (its sha256 is recorded)")
    group.add_argument("--contract-sha256", help="the contract's sha256, hex")
    a.add_argument("--git-revision", required=True)
    a.add_argument("--run-id", default="")
    a.add_argument("--signing-key",
                   help=f"private key PEM file (default: ${keyenv.SIGNING_KEY_ENV})")
    deadline.add_argument(a)
    a.set_defaults(handler=_attest)

    v = subparsers.add_parser("verify", help="verify the attestation of a digest")
    v.add_argument("--image", required=True, help="REPO@sha256:...")
    v.add_argument("--public-key", help=f"public key PEM (default: ${keyenv.PUBLIC_KEY_ENV})")
    v.add_argument("--require-lane", action="append", default=[], metavar="LANE")
    v.add_argument("--refuse-waivers", action="store_true",
                   help="refuse a digest validated with waived rules or by a non-gating run")
    deadline.add_argument(v)
    v.set_defaults(handler=_verify)

    k = subparsers.add_parser("keygen", help="write a new Ed25519 signing key pair")
    k.add_argument("--out", required=True, help="directory for signing.pem and signing.pub.pem")
    k.set_defaults(handler=_keygen)


def _attest(args: argparse.Namespace) -> int:
    from pipeline.registry import signing
    from pipeline.registry.attestation import attest
    from pipeline.registry.client import RegistryClient
    from pipeline.registry.reference import require_digest

    image = require_digest(args.image)
    pem, source = signing.signing_key_pem(args.signing_key)
    contract_sha256 = args.contract_sha256 or _file_sha256(args.contract)
    with RegistryClient.for_reference(image) as client:
        ref = attest(client, str(image), args.lane, contract_sha256, args.git_revision, pem,
                     lanes_failed=args.failed_lane, run_id=args.run_id, key_source=source)
    print(printable(ref))
    return 0


def _verify(args: argparse.Namespace) -> int:
    from pipeline.registry import signing
    from pipeline.registry.attestation import verify_attestation
    from pipeline.registry.client import RegistryClient
    from pipeline.registry.policy import Policy, waived_rules
    from pipeline.registry.reference import require_digest

    image = require_digest(args.image)
    key = signing.public_key(args.public_key)
    with RegistryClient.for_reference(image) as client:
        statement = verify_attestation(client, image, key, policy=Policy(
            required_lanes=tuple(args.require_lane), refuse_waivers=args.refuse_waivers))
    p = statement.predicate
    waived = waived_rules(p.waivers)
    qualified = (f"; waived: {', '.join(waived)}" if waived else "") + \
        ("" if p.gating else "; not gating")
    print(printable(f"{image}: verified; lanes passed: {', '.join(p.lanes_passed)}; "
                    f"contract sha256 {p.contract_sha256}; git {p.git_revision}{qualified}"))
    return 0


def _keygen(args: argparse.Namespace) -> int:
    from pipeline.registry import signing

    out = Path(args.out)
    private, public = signing.generate_key_pair()
    key_path, pub_path = out / "signing.pem", out / "signing.pub.pem"
    if key_path.exists():
        raise PipelineError(f"{key_path}: exists, refusing to overwrite a key")
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private)
        pub_path.write_bytes(public)
    except OSError as exc:
        raise PipelineError(f"{out}: cannot write keys ({exc.strerror})") from exc
    print(printable(f"private key: {key_path} (keep secret)"))
    print(printable(f"public key:  {pub_path}"))
    return 0


def _file_sha256(path: str) -> str:
    from pipeline.contract.limits import read_text

    # The contract loader's reader: a regular file of bounded size, never a FIFO or device.
    return hashlib.sha256(read_text(Path(path)).encode("utf-8")).hexdigest()
