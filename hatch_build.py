"""Wheel build hook: compiles pipeline/image/_tarwalk.c, the C walk of plain tar headers.

Where there is no C compiler or no Python headers (Dagger's Python module runtime, a
slim image), the build says so and goes on: the package is then pure Python, and
pipeline.image.tarstream reads every header in Python, with the same results.
An editable install builds the extension next to its source, where the package is
imported from; a wheel carries it.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("pipeline/image/_tarwalk.c")


class TarwalkBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    _scratch: str | None = None

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel":
            return
        name = "_tarwalk" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so")
        root = Path(self.root)
        if version == "editable":
            out = root / SOURCE.parent / name
        else:
            self._scratch = tempfile.mkdtemp(prefix="pipeline-build-")
            out = Path(self._scratch) / name
        if not _compile(root / SOURCE, out):
            return
        if version != "editable":
            build_data["force_include"][str(out)] = str(SOURCE.parent / name)
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict, artifact_path: str) -> None:
        if self._scratch is not None:            # the wheel holds the library now
            shutil.rmtree(self._scratch, ignore_errors=True)


def _compile(source: Path, out: Path) -> bool:
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    include = sysconfig.get_paths()["include"]
    if not Path(include, "Python.h").is_file():
        return _skip(f"no Python.h in {include}")
    # The sha256 of the source, which tarstream checks against the source beside it: an
    # old build next to a changed source is not used.
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    # macOS links an extension against the interpreter that loads it.
    link = ["-bundle", "-undefined", "dynamic_lookup"] if sys.platform == "darwin" else \
        ["-shared", "-fPIC"]
    # A file of this build's own, moved into place whole: another build of the same
    # checkout at the same time never sees half a library, nor takes this one's.
    try:
        handle, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent)
    except OSError as exc:                      # a read-only tree, say
        return _skip(f"cannot write {out.parent}: {exc.strerror}")
    os.close(handle)
    command = [*compiler, "-O2", *link, f"-I{include}", f'-DSOURCE_SHA256="{digest}"',
               str(source), "-o", tmp]
    try:
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return _skip(f"{compiler[0]}: {exc}")
        if result.returncode != 0:
            return _skip(f"{compiler[0]} exited {result.returncode}: "
                         f"{(result.stderr.strip().splitlines() or [''])[-1][:200]}")
        try:
            os.replace(tmp, out)
        except OSError as exc:
            return _skip(f"cannot put it in place: {exc}")
        return True
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _skip(why: str) -> bool:
    print(f"pipeline: the C tar header walk is not built ({why}); the Python walk reads "
          "every header", file=sys.stderr)
    return False
