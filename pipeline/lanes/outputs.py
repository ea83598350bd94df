"""Typed lane outputs: what a lane hands the lanes that need it, by service, never by lane name.

A build lane (or, when a stage is verified, a pull lane) outputs its service's
`Image` once; every lane downstream reads the images of the lanes it needs through
`Upstream`, whatever those lanes are called. Lanes that need no image of an upstream
lane (the publish lane reads results) never touch it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dagger

from pipeline.dag import LaneContext
from pipeline.errors import LaneError

IMAGE = "image"


@dataclass(frozen=True, slots=True)
class Image:
    """One service's runtime image, built (or pulled by digest) once per run."""

    service: str
    container: dagger.Container


def image_output(service: str, container: dagger.Container) -> Mapping[str, Any]:
    """A lane's outputs holding the image of `service`."""
    return {IMAGE: Image(service, container)}


class Upstream:
    """The typed outputs of the lanes one running lane needs."""

    def __init__(self, lane: LaneContext) -> None:
        self._lane = lane

    def images(self) -> dict[str, dagger.Container]:
        """Every image output upstream, by service name."""
        found = (outputs.get(IMAGE) for outputs in self._lane.upstream.values())
        return {image.service: image.container for image in found if isinstance(image, Image)}

    def image(self, service: str) -> dagger.Container:
        """The image of `service`; a LaneError (a graph bug, said plainly) if no need has it."""
        try:
            return self.images()[service]
        except KeyError:
            raise LaneError(f"lane {self._lane.lane!r} needs no lane with the image of "
                            f"{service!r}") from None
