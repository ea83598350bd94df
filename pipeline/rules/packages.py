"""Installed packages from the image's databases: dpkg, apk, Python dist-info, node_modules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.image.view import ImageView


@dataclass(frozen=True, slots=True)
class Package:
    ecosystem: str          # dpkg, apk, python, npm
    name: str
    path: str               # where it was seen: database file or package directory


_PY_META = re.compile(
    r"(?:^|/)(?:site|dist)-packages/([^/-]+)-[^/]*\.(?:dist|egg)-info/(?:METADATA|PKG-INFO)$")
_NODE = re.compile(r"(?:^|/)node_modules/((?:@[^/]+/)?[^/@.][^/]*)/package\.json$")


def _python_name(name: str) -> str:
    # PEP 503 normalisation: dist-info dirs write "pytest_cov", the index "pytest-cov".
    return re.sub(r"[-_.]+", "-", name).lower()


def _dpkg(text: str, path: str) -> Iterator[Package]:
    for paragraph in text.split("\n\n"):
        name, installed = None, "Status:" not in paragraph   # status.d entries have no Status
        for line in paragraph.splitlines():
            if line.startswith("Package:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("Status:"):
                installed = line.split(":", 1)[1].split()[-1:] == ["installed"]
        if name and installed:
            yield Package("dpkg", name, path)


def installed(image: ImageView) -> Iterator[Package]:
    """Every package the image's databases say is installed (final filesystem)."""
    for entry in image.list():
        path = entry.path
        if path == "var/lib/dpkg/status" or path.startswith("var/lib/dpkg/status.d/"):
            data = image.read(path)
            if data:
                yield from _dpkg(data.decode("utf-8", "replace"), path)
        elif path == "lib/apk/db/installed":
            for line in (image.read(path) or b"").decode("utf-8", "replace").splitlines():
                if line.startswith("P:"):
                    yield Package("apk", line[2:].strip(), path)
        elif path.endswith(("METADATA", "PKG-INFO")) and (found := _PY_META.search(path)):
            yield Package("python", _python_name(found.group(1)), path.rsplit("/", 1)[0])
        elif path.endswith("package.json") and (found := _NODE.search(path)):
            yield Package("npm", found.group(1), path.rsplit("/", 1)[0])
