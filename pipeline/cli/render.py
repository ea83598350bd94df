"""`render`: a stage's compose file and Kubernetes manifests, pinned to digests."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError
from pipeline.registry import deadline
from pipeline.registry.reference import shown
from pipeline.textsafe import printable


def register(subparsers: Any) -> None:
    r = subparsers.add_parser("render", help="write a stage's deployment files pinned to digests")
    r.add_argument("--stage", required=True)
    r.add_argument("--repository", metavar="HOST/REPO",
                   help="the releases' repository: write the whole release the stage holds")
    r.add_argument("--service", action="append", default=[], metavar="NAME=REF",
                   help="REF is HOST/REPO (resolved through the stage tag) or REPO@sha256:...")
    r.add_argument("--port", action="append", default=[], metavar="NAME=PORT")
    r.add_argument("--out", required=True, help="output directory")
    deadline.add_argument(r)
    r.set_defaults(handler=_render)


def _render(args: argparse.Namespace) -> int:
    if args.repository:
        if args.service or args.port:
            raise PipelineError("--repository: renders the whole release; drop --service/--port")
        from pipeline.actions import write_release_deploy_files

        for path in write_release_deploy_files(args.repository, args.stage, args.out):
            print(path)
        return 0
    if not args.service:
        raise PipelineError("render: give --repository (a release) or --service NAME=REF")
    from pipeline.deploy.files import ServiceImage, write_deploy_files
    from pipeline.registry.client import RegistryClient
    from pipeline.registry.reference import parse_reference
    from pipeline.registry.stages import resolve_stage

    refs = _pairs(args.service, "--service")
    ports = {name: _port(name, value) for name, value in _pairs(args.port, "--port").items()}
    unknown = set(ports) - set(refs)
    if unknown:
        raise PipelineError(f"--port: no --service named {sorted(unknown)[0]}")
    pinned: dict[str, str] = {}
    to_resolve: dict[str, str] = {}
    for name, text in refs.items():
        ref = parse_reference(text)
        if ref.tag or ref.digest:
            pinned[name] = text  # write_deploy_files refuses it if it carries a tag
        else:
            to_resolve[name] = text
    for host in {parse_reference(t).host for t in to_resolve.values()}:
        group = {n: t for n, t in to_resolve.items() if parse_reference(t).host == host}
        with RegistryClient.for_reference(parse_reference(next(iter(group.values())))) as client:
            pinned.update(resolve_stage(client, args.stage, group))
    services = [ServiceImage(name, pinned[name], ports.get(name)) for name in refs]
    for path in write_deploy_files(Path(args.out), args.stage, services):
        print(printable(str(path)))
    return 0


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name or not rest:
            raise PipelineError(f"{flag} {shown(value)!r}: expected NAME=VALUE")
        pairs[name] = rest
    return pairs


def _port(name: str, value: str) -> int:
    # ASCII only: str.isdigit() and int() also take other scripts' digits ("٨٠").
    if not (value.isascii() and value.isdigit() and len(value) <= 5
            and 0 < int(value) < 65536):
        raise PipelineError(f"--port {name}={value}: not a port number (1-65535)")
    return int(value)
