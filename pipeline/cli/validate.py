"""`pipeline validate | plan | build | lint | unit-test | check-images | integration | e2e`.

Client mode: the same lane code as the Dagger module's functions, driven over
`dagger.connection()` against whatever engine the environment names (Dagger's
own, or the one scripts/engine started). Exit 0 all lanes passed, 1 a gate said
no, 2 bad input or something broke.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from functools import partial
from pathlib import Path

from pipeline.cli.options import add_source_options

# Lane-kind shortcuts: `pipeline lint` = validate only the lint lanes. One concept, one name:
# `check-images` runs the lanes of kind `contract` (contract:<service>: static rules on the
# built image, then runtime probes); `check-image` (cli/check_image.py) runs only those
# static rules, on one image tarball, without an engine.
SHORTCUTS = {
    "build": ("build", "build each service's runtime image"),
    "lint": ("lint", "lint each service in its tooling container"),
    "unit-test": ("unit-test", "unit-test each service in its tooling container"),
    "check-images": ("contract", "build, then check each image against its contract"),
    "integration": ("integration", "black-box tests against the started services"),
    "e2e": ("e2e", "browser tests against the started services"),
}


def _common(parser: argparse.ArgumentParser) -> None:
    add_source_options(parser, holding="the contract",
                       overlay="overlay merged over the contract, relative to --source (repeatable)")
    parser.add_argument("--lane", action="append", default=[],
                        help="run only this lane and what it needs (repeatable)")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("validate", help="run every lane: build, checks, contract, tests",
                                   description="Build, check and test every service; write reports.")
    _common(parser)
    _run_options(parser)
    parser.add_argument("--publish-to", metavar="REPOSITORY",
                        help="after every gate passed, push images to REPOSITORY/<service> by "
                             "digest and attest them (key: $PIPELINE_SIGNING_KEY or --signing-key-file)")
    parser.add_argument("--signing-key-file", type=Path,
                        help="Ed25519 private key (PEM) that signs the attestations")
    parser.add_argument("--git-revision", default=None,
                        help="revision recorded in the release (default: git rev-parse HEAD)")
    parser.add_argument("--version", default=None, metavar="SEMVER",
                        help="tag the images SEMVER (default: a v1.2.3 git tag on HEAD, if any; "
                             "'latest' only for a local registry)")
    parser.add_argument("--branch", default="",
                        help="a branch build: also tag <version>-<branch>")
    parser.set_defaults(handler=run_validate, kinds=())

    for name, (kind, help_text) in SHORTCUTS.items():
        # `end-to-end` as the Dagger function is named (`dagger call e2e` cannot be).
        aliases = ["end-to-end"] if name == "e2e" else []
        sub = subparsers.add_parser(name, help=help_text, description=help_text, aliases=aliases)
        _common(sub)
        _run_options(sub)
        sub.set_defaults(handler=run_validate, kinds=(kind,), publish_to=None,
                         signing_key_file=None, git_revision=None, version=None, branch="")

    plan = subparsers.add_parser("plan", help="print the lanes' DAG without running it")
    _common(plan)
    plan.add_argument("--format", choices=("text", "mermaid", "dot"), default="text")
    plan.add_argument("--publish-to", metavar="REPOSITORY", default=None)
    plan.add_argument("--keep-going", action="store_true",
                      help="the plan of validate --keep-going (tests after, not gated by, contracts)")
    plan.set_defaults(handler=run_plan, kinds=())


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fresh", action="store_true",
                        help="measure every contract lane again, even when its image and "
                             "inputs are unchanged (default: reuse those findings)")
    parser.add_argument("--reports", type=Path, default=None,
                        help="reports directory, replaced on each run (default: reports/ beside "
                             "the contract, in --source, wherever the command runs from)")
    parser.add_argument("--jobs", "-j", type=_jobs, default=None, metavar="N",
                        help="run at most N lanes at once (default: no limit; contract lanes "
                             "always probe with no other lane running)")
    parser.add_argument("--ca-bundle", type=Path, default=None, metavar="PEM",
                        help="CA bundle every tooling and runner container trusts: pip, uv, npm, "
                             "Node, curl (default: $PIPELINE_CA_BUNDLE; for a TLS-intercepting proxy)")
    parser.add_argument("--fail-fast", action="store_true",
                        help="cancel running lanes and skip the rest at the first failure")
    parser.add_argument("--keep-going", action="store_true",
                        help="run integration and E2E even when a contract lane fails (the run "
                             "still fails; a release it publishes is marked not gating)")
    parser.add_argument("--progress", choices=("lanes", "dagger", "quiet"), default="lanes",
                        help="lanes: a line per lane event; dagger: also the engine's own "
                             "progress; quiet: only the summary (default: lanes)")


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of lanes, at least 1, not {text!r}")
    return value


def _options(args: argparse.Namespace, publish=None):
    from pipeline.validate import ValidateOptions

    return ValidateOptions(contract=args.contract, overlays=tuple(args.overlay),
                           lanes=tuple(args.lane), kinds=tuple(args.kinds), fail_fast=getattr(args, "fail_fast", False),
                           publish=publish, jobs=getattr(args, "jobs", None),
                           keep_going=getattr(args, "keep_going", False),
                           fresh=getattr(args, "fresh", False))


def _source_dir(args: argparse.Namespace) -> Path:
    from pipeline.errors import PipelineError

    source = args.source.resolve()
    if not source.is_dir():
        raise PipelineError(f"--source {args.source}: no such directory")
    return source


def run_plan(args: argparse.Namespace) -> int:
    import anyio

    from pipeline.dag import plan_dot, plan_mermaid, plan_text
    from pipeline.lanes.publish import PublishOptions
    from pipeline.validate import plan

    publish = PublishOptions(args.publish_to) if args.publish_to else None
    graph = anyio.run(partial(plan, None, _options(args, publish), local_root=_source_dir(args)))
    draw = {"text": plan_text, "mermaid": plan_mermaid, "dot": plan_dot}[args.format]
    print(draw(graph), end="")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    import anyio
    from dagger import dag

    from pipeline.engine import connection
    from pipeline.lanes.publish import PublishOptions
    from pipeline.logs import configure_logging
    from pipeline.report.run import (
        append_step_summary,
        lane_folder,
        progress_printer,
        render_summary,
    )
    from pipeline.validate import SOURCE_EXCLUDE, validate

    configure_logging()
    source = _source_dir(args)
    reports = reports_dir(args.reports, source)
    bundle = _ca_bundle(args)  # a bad file is refused before any engine is started
    publish = None
    if args.publish_to:
        from pipeline.registry.naming import publish_tags, version_from_git

        version = args.version if args.version is not None else version_from_git(source)
        # Refuse a bad version or `latest` for a remote registry now, before building anything.
        publish_tags(args.publish_to.split("/", 1)[0], version=version, branch=args.branch)
        publish = PublishOptions(args.publish_to, git_revision=args.git_revision or _git_revision(source),
                                 version=version, branch=args.branch)

    async def main() -> int:
        async with connection(show_progress=args.progress == "dagger"):
            nonlocal publish
            if publish is not None:
                key = _signing_key(args)
                if key is not None:
                    publish = dataclasses.replace(publish, signing_key=dag.set_secret("signing-key", key))
                user = os.environ.get("PIPELINE_REGISTRY_USERNAME")
                if user:  # the same login the promote/rollback commands read
                    password = dag.set_secret("registry-password",
                                              os.environ.get("PIPELINE_REGISTRY_PASSWORD", ""))
                    publish = dataclasses.replace(publish, registry_username=user,
                                                  registry_password=password)
            directory = dag.host().directory(str(source), exclude=SOURCE_EXCLUDE)
            result = await validate(
                directory, _options(args, publish), reports=reports, local_root=source,
                ca_bundle=dag.host().file(str(bundle)) if bundle else None,
                on_event=None if args.progress == "quiet" else progress_printer())
        print(render_summary(result.run), end="")
        if publish is not None and "publish" in {r.name for r in result.run}:
            published = result.run["publish"].outputs
            if "release" in published:  # the id `promote --release` takes
                print(f"release {published['release']} in {published['release_repository']}")
        append_step_summary(result.reports.markdown.read_text(), os.environ.get("GITHUB_STEP_SUMMARY"))
        problems = [r for r in result.run if r.status.is_problem]
        for r in problems:
            where = result.reports.directory / "lanes" / lane_folder(r.name)
            # Point only at a folder that exists: a lane that kept no file has none.
            see = where if where.is_dir() else result.reports.text
            print(f"pipeline: {r.name} {r.status}: {r.message} (see {see})", file=sys.stderr)
        print(f"pipeline: reports in {result.reports.directory}", file=sys.stderr)
        return result.run.exit_code

    return anyio.run(main)


def reports_dir(given: Path | None, source: Path) -> Path:
    """Reports belong to the app validated, as its contract does (and the source upload
    never includes them): the same place whichever directory the command runs from."""
    return given if given is not None else source / "reports"


def _ca_bundle(args: argparse.Namespace) -> Path | None:
    from pipeline.errors import PipelineError

    given = args.ca_bundle or (Path(os.environ["PIPELINE_CA_BUNDLE"])
                               if os.environ.get("PIPELINE_CA_BUNDLE") else None)
    if given is None:
        return None
    flag = "--ca-bundle" if args.ca_bundle else "$PIPELINE_CA_BUNDLE"
    try:
        text = given.read_text(encoding="ascii", errors="replace")[:1 << 20]
    except OSError as exc:
        raise PipelineError(f"{flag} {given}: {exc.strerror or exc}") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise PipelineError(f"{flag} {given}: not a PEM certificate bundle")
    return given.resolve()


def _signing_key(args: argparse.Namespace) -> str | None:
    from pipeline.errors import PipelineError

    if args.signing_key_file is not None:
        try:
            return args.signing_key_file.read_text()
        except OSError as exc:
            raise PipelineError(f"--signing-key-file {args.signing_key_file}: {exc.strerror}") from None
    return os.environ.get("PIPELINE_SIGNING_KEY") or None


def _git_revision(source: Path) -> str:
    import subprocess

    try:
        out = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""
