"""validate: the one function behind `dagger call validate` and `python -m pipeline validate`.

It loads the contract from the source directory, declares the lanes (all of
them, or a selection with what they need), runs them, and writes the reports
directory whatever the outcome. The module functions and the CLI call it with
the same arguments.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dagger

from pipeline.contract import Contract, load_contract
from pipeline.dag import EventCallback, Graph, RunResult, run_graph
from pipeline.errors import ContractError
from pipeline.lanes.context import RunContext
from pipeline.lanes.graph import validation_graph
from pipeline.lanes.publish import PublishOptions
from pipeline.lanes.secretrefs import load_secret_refs
from pipeline.report.run import RunReportPaths, write_run_reports

# Never sent to the engine: local caches and build output that a Dockerfile rebuilds
# (the CLI excludes these, the module's `source` argument ignores them).
SOURCE_EXCLUDE = ["**/node_modules", "**/.venv", "**/__pycache__", "**/.pytest_cache",
                  "**/.ruff_cache", "**/.mypy_cache", ".git", "reports"]

@dataclass(frozen=True)
class ValidateOptions:
    contract: str = "pipeline.toml"             # relative to the source directory
    overlays: tuple[str, ...] = ()              # merged over the contract, in order
    lanes: tuple[str, ...] = ()                 # run only these lanes and what they need
    kinds: tuple[str, ...] = ()                 # ... or only lanes of these kinds
    fail_fast: bool = False
    publish: PublishOptions | None = None
    keep_going: bool = False                    # test lanes run even when a contract gate fails
    jobs: int | None = None                     # lanes running at once (None: no limit)


@dataclass(frozen=True)
class Validation:
    run: RunResult
    reports: RunReportPaths
    contract_sha256: str = ""
    graph: Graph = field(repr=False, default_factory=Graph)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("run-%Y%m%d-%H%M%S-") + secrets.token_hex(3)


async def _mirror(source: dagger.Directory, path: str, mirror: Path) -> None:
    """Copy one file of `source` into the local mirror; a missing one is a one-line error."""
    try:
        await source.file(path).export(str(mirror / path))
    except dagger.QueryError:
        raise ContractError("no such file in the source directory", path=path) from None


async def load_source_contract(
    source: dagger.Directory | None, options: ValidateOptions, scratch: Path, *,
    local_root: Path | None = None,
) -> tuple[Contract, str]:
    """The contract and the sha256 of its files. With `local_root` (client mode) the files
    are read where they are; otherwise the few files rules read (contract, overlays,
    Dockerfiles, .dockerignore) are mirrored from the Dagger directory `source`."""
    if local_root is None and source is None:
        raise ValueError("load_source_contract needs a source directory or a local root")
    names = (options.contract, *options.overlays)
    if local_root is None:
        assert source is not None
        root = scratch / "source"
        for name in names:
            await _mirror(source, name, root)
    else:
        root = local_root
    digest = hashlib.sha256()
    for name in names:
        path = root / name
        digest.update(path.read_bytes() if path.is_file() else b"")
    try:
        contract = load_contract(root / options.contract, [root / o for o in options.overlays])
    except ContractError as exc:
        if local_root is None:  # name the file as the user knows it, not the mirror
            exc.message = exc.message.replace(f"{root}/", "")
            exc.args = (exc.message,)
        raise
    if source is not None and local_root is None:
        for spec in contract.services.values():
            await _mirror(source, f"{spec.context}/{spec.dockerfile}", root)
            ignore = f"{spec.context}/.dockerignore"
            if await source.exists(ignore):
                await _mirror(source, ignore, root)
    return contract, digest.hexdigest()


def select(graph: Graph, options: ValidateOptions) -> Graph:
    names = list(options.lanes) + [lane.name for lane in graph if lane.kind in options.kinds]
    if not options.lanes and not options.kinds:
        return graph
    if options.kinds and not names:
        raise ContractError(f"the contract declares no lane of kind {', '.join(options.kinds)}")
    return graph.select(names)


async def plan(source: dagger.Directory | None, options: ValidateOptions, *,
               local_root: Path | None = None) -> Graph:
    """The DAG the options would run; nothing runs (no engine needed with `local_root`)."""
    with tempfile.TemporaryDirectory(prefix="pipeline-") as tmp:
        contract, _ = await load_source_contract(source, options, Path(tmp), local_root=local_root)
    # The lanes are declared, never run: no source directory is needed to declare them.
    ctx = RunContext(source=source, contract=contract, scratch=Path(tmp), run_id="plan")  # type: ignore[arg-type]
    return select(validation_graph(ctx, publish=options.publish, keep_going=options.keep_going),
                  options)


async def validate(
    source: dagger.Directory, options: ValidateOptions, *, reports: Path,
    local_root: Path | None = None, on_event: EventCallback | None = None,
    run_id: str | None = None, ca_bundle: dagger.File | None = None,
) -> Validation:
    """Run the selected lanes on `source` and write `reports` (replaced), even when lanes fail."""
    scratch = Path(tempfile.mkdtemp(prefix="pipeline-run-"))
    try:
        contract, contract_sha256 = await load_source_contract(
            source, options, scratch, local_root=local_root)
        publish = options.publish
        if publish is not None:
            publish = dataclasses.replace(publish, contract_sha256=contract_sha256)
        secret_refs, secret_plaintexts = await load_secret_refs(contract, source=source,
                                                                local_root=local_root)
        ctx = RunContext(source=source, contract=contract, scratch=scratch,
                         run_id=run_id or new_run_id(), secret_refs=secret_refs,
                         secret_plaintexts=secret_plaintexts, ca_bundle=ca_bundle)
        graph = select(validation_graph(ctx, publish=publish, keep_going=options.keep_going),
                       options)
        ctx.gating = not any(lane.after for lane in graph)
        run = await run_graph(graph, fail_fast=options.fail_fast, max_concurrency=options.jobs,
                              on_event=on_event)
        run = dataclasses.replace(run, gating=ctx.gating)
        paths = write_run_reports(run, reports)
        return Validation(run=run, reports=paths, contract_sha256=contract_sha256, graph=graph)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
