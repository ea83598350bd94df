"""Installed packages from the image's databases: dpkg, apk, Python dist-info, node_modules."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pipeline.image.view import ImageView


@dataclass(frozen=True, slots=True)
class Package:
    ecosystem: str          # dpkg, apk, python, npm
    name: str
    path: str               # where it was seen: database file or package directory
    layer: int | None = None  # the layer that installed it, when the image says


_PY_META = re.compile(
    r"(?:^|/)(?:site|dist)-packages/([^/-]+)-[^/]*\.(?:dist|egg)-info/(?:METADATA|PKG-INFO)$")
_NODE = re.compile(r"(?:^|/)node_modules/((?:@[^/]+/)?[^/@.][^/]*)/package\.json$")


def _python_name(name: str) -> str:
    # PEP 503 normalisation: dist-info dirs write "pytest_cov", the index "pytest-cov".
    return re.sub(r"[-_.]+", "-", name).lower()


_DPKG_LIST = re.compile(r"^var/lib/dpkg/info/([^/:]+)(?::[^/]+)?\.list$")


def _dpkg(text: str, path: str, layer_of: Callable[[str], int | None]) -> Iterator[Package]:
    for paragraph in text.split("\n\n"):
        name, installed = None, "Status:" not in paragraph   # status.d entries have no Status
        for line in paragraph.splitlines():
            if line.startswith("Package:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("Status:"):
                installed = line.split(":", 1)[1].split()[-1:] == ["installed"]
        if name and installed:
            yield Package("dpkg", name, path, layer_of(name))


def _apk(image: ImageView, text: str, path: str) -> Iterator[Package]:
    """apk's database: a block per package, `P:` its name, `F:` a directory, `R:` a file
    in it. The package's layer is its first file's (the database is rewritten by every
    install, so its own layer says nothing)."""
    for block in text.split("\n\n"):
        name, directory, first = None, "", None
        for line in block.splitlines():
            if line.startswith("P:"):
                name = line[2:].strip()
            elif line.startswith("F:"):
                directory = line[2:].strip()
            elif line.startswith("R:") and first is None:
                first = f"{directory}/{line[2:].strip()}" if directory else line[2:].strip()
        if name:
            entry = image.stat(first) if first else None
            yield Package("apk", name, path, entry.layer if entry is not None else None)


def installed(image: ImageView) -> Iterator[Package]:
    """Every package the image's databases say is installed (final filesystem)."""
    # dpkg writes info/<package>.list in the layer that installs the package: that
    # layer, not the status file's (rewritten by every install), is the package's.
    dpkg_layers: dict[str, int] = {}
    dpkg_status: list[str] = []
    for entry in image.list():
        path = entry.path
        if path.startswith("var/lib/dpkg/"):
            if path == "var/lib/dpkg/status" or path.startswith("var/lib/dpkg/status.d/"):
                dpkg_status.append(path)
            elif found := _DPKG_LIST.match(path):
                dpkg_layers[found.group(1)] = entry.layer
        elif path == "lib/apk/db/installed":
            yield from _apk(image, (image.read(path) or b"").decode("utf-8", "replace"), path)
        elif path.endswith(("METADATA", "PKG-INFO")) and (found := _PY_META.search(path)):
            yield Package("python", _python_name(found.group(1)), path.rsplit("/", 1)[0],
                          entry.layer)
        elif path.endswith("package.json") and (found := _NODE.search(path)):
            yield Package("npm", found.group(1), path.rsplit("/", 1)[0], entry.layer)
    for path in dpkg_status:
        data = image.read(path)
        if not data:
            continue
        # status.d (distroless) has one file per package, in the layer that added it.
        entry = image.stat(path)
        own = entry.layer if entry is not None and path != "var/lib/dpkg/status" else None
        yield from _dpkg(data.decode("utf-8", "replace"), path,
                         dpkg_layers.get if own is None else lambda _name, own=own: own)
