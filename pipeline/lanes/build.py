"""The build lane: each service's runtime image, built once from its Dockerfile and target."""

from __future__ import annotations

from pathlib import Path

import dagger

from pipeline.contract import Service
from pipeline.dag import LaneContext, LaneOutcome, LaneRun
from pipeline.dag.messages import one_line, redact
from pipeline.engine import session_log_tail
from pipeline.lanes.context import RunContext
from pipeline.lanes.outputs import image_output
from pipeline.reasons import build_reason, failed_process, last_lines, step_output


def build_image(ctx: RunContext, spec: Service) -> dagger.Container:
    """The (lazy) runtime image of a service, as its contract says to build it."""
    return ctx.source.at(spec.context).docker_build(
        dockerfile=spec.dockerfile,
        target=spec.target or "",
        build_args=[dagger.BuildArg(name=k, value=v) for k, v in spec.build_args.items()],
        # Mounted by RUN --mount=type=secret,id=NAME: never in a layer or the history.
        secrets=list(ctx.env(spec.build_secrets, f"services.{spec.name}.build_secrets").values())
        or None,
    )


def _dockerfile_text(ctx: RunContext, spec: Service) -> str:
    try:
        return (ctx.contract.context_dir(spec.name) / spec.dockerfile).read_text(
            encoding="utf-8", errors="replace")
    except OSError:
        return ""


def build_lane(ctx: RunContext, spec: Service) -> LaneRun:
    async def run(lane: LaneContext) -> LaneOutcome:
        log = ctx.lane_dir(lane.lane) / "build.log"
        what = f"{spec.context}/{spec.dockerfile}" + (f" target {spec.target}" if spec.target else "")
        try:
            image = await build_image(ctx, spec).sync()
        except dagger.ExecError as exc:
            # A RUN step exited non-zero: the image's own build said no, so the lane
            # FAILED (not ERRORED), naming the step and its telling line.
            reason = build_reason(exc.command, exc.exit_code, exc.stdout, exc.stderr,
                                  _dockerfile_text(ctx, spec))
            _write_log(log, f"build of {what} failed\n{reason}\n\n$ {' '.join(exc.command)}\n"
                            f"--- stdout\n{exc.stdout}\n--- stderr\n{exc.stderr}\n"
                            f"[exit {exc.exit_code}]\n--- last error lines\n"
                            + "\n".join(last_lines(exc.stderr or exc.stdout, 10)) + "\n")
            return LaneOutcome.failure(f"build failed: {reason}", log=log)
        except dagger.QueryError as exc:
            process = failed_process(str(exc))
            if process is not None:
                # A RUN step failed; the engine's error names it but not its output, which
                # its progress log for this session holds (client mode).
                command, code = process
                output = "\n".join(step_output(session_log_tail(), command))
                reason = build_reason(command, code, "", output, _dockerfile_text(ctx, spec))
                _write_log(log, f"build of {what} failed\n{reason}\n\n$ {' '.join(command)}\n"
                                f"{output or '(output not kept by this engine session)'}\n"
                                f"[exit {code}]\n")
                return LaneOutcome.failure(f"build failed: {reason}", log=log)
            # The engine refused the build (a missing file to COPY, a bad Dockerfile, an
            # unknown base image): still the build's input at fault.
            _write_log(log, f"build of {what} failed\n{exc}\n")
            return LaneOutcome.failure(f"build failed: {one_line(str(exc))}", log=log)
        _write_log(log, f"built {what}\nplatform {await image.platform()}\n")
        # Every later lane receives this very container: nothing is rebuilt downstream.
        return LaneOutcome.success(f"built {spec.name}", outputs=image_output(spec.name, image),
                                   log=log)

    return run


def _write_log(path: Path, text: str) -> None:
    # Build output can echo build args and URLs: masked as every report is.
    path.write_text(redact(text), encoding="utf-8")
