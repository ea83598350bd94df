"""validate: the one function behind `dagger call validate` and `python -m pipeline validate`.

It resolves the source once (pipeline.lanes.source), loads the contract from it,
declares the lanes (all of them, or a selection with what they need), runs them,
and writes the reports directory whatever the outcome. The module functions and the CLI call it with
the same arguments.
"""

from __future__ import annotations

import dataclasses
import functools
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dagger

from pipeline.dag import EventCallback, Graph, RunResult, run_graph
from pipeline.errors import ContractError
from pipeline.lanes.context import RunContext
from pipeline.lanes.graph import validation_graph
from pipeline.lanes.publish import PublishOptions
from pipeline.lanes.result_store import VolumeStore
from pipeline.lanes.reuse import local_store
from pipeline.lanes.secretrefs import load_secret_refs
from pipeline.lanes.servicewrap import helper_binary
from pipeline.lanes.source import Source
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
    fresh: bool = False                         # contract lanes measure again, reusing nothing


@dataclass(frozen=True)
class Validation:
    run: RunResult
    reports: RunReportPaths
    contract_sha256: str = ""
    graph: Graph = field(repr=False, default_factory=Graph)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("run-%Y%m%d-%H%M%S-") + secrets.token_hex(3)


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
        tree = Source.resolve(source, local_root=local_root, scratch=Path(tmp))
        contract, _ = await tree.load_contract(options.contract, options.overlays)
        # Lanes declared, never run: no scratch directory (RunContext.work_dir says so).
        ctx = RunContext(source=tree, contract=contract, run_id="plan")
        return select(validation_graph(ctx, publish=options.publish,
                                       keep_going=options.keep_going), options)


async def validate(
    source: dagger.Directory, options: ValidateOptions, *, reports: Path,
    local_root: Path | None = None, on_event: EventCallback | None = None,
    run_id: str | None = None, ca_bundle: dagger.File | None = None,
) -> Validation:
    """Run the selected lanes on `source` and write `reports` (replaced), even when lanes fail.

    `local_root`: the same directory on this machine (client mode), read in place;
    without it the files the domain reads are mirrored from `source` (module mode)."""
    scratch = Path(tempfile.mkdtemp(prefix="pipeline-run-"))
    try:
        tree = Source.resolve(source, local_root=local_root, scratch=scratch)
        contract, contract_sha256 = await tree.load_contract(options.contract, options.overlays)
        publish = options.publish
        if publish is not None:
            publish = dataclasses.replace(publish, contract_sha256=contract_sha256)
        secret_refs, secret_plaintexts = await load_secret_refs(contract, tree)
        ctx = RunContext(source=tree, contract=contract, scratch=scratch,
                         run_id=run_id or new_run_id(), secret_refs=secret_refs,
                         secret_plaintexts=secret_plaintexts, ca_bundle=ca_bundle,
                         fresh=options.fresh)
        # Client mode keeps reusable results on this machine; a module's disk is new on
        # every call, so module mode keeps them in the engine.
        ctx.results = (local_store() if local_root is not None
                       else VolumeStore(functools.partial(helper_binary, ctx)))
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
