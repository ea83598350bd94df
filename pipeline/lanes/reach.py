"""Reaching a started service from this process, in client mode and inside a module.

The probes poll a service's health endpoint from the Python process that runs the
lanes. Where that process sits decides how:

- client mode (`python -m pipeline`): on the engine's host, outside the engine's
  network, where service names do not resolve; a host tunnel forwards a free local
  port to the service.
- module mode (`dagger call`): in the module's own container, on the engine's
  network, where the service's endpoint resolves. The engine hides the `Host` type
  from modules (the generated client has no `host()`), so no tunnel can be opened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import dagger
from dagger import dag


def in_module() -> bool:
    """True inside a Dagger module, whose generated client has no `Host`."""
    return not hasattr(dag, "host")


@asynccontextmanager
async def http_url(service: dagger.Service, port: int) -> AsyncIterator[str]:
    """`http://HOST:PORT` (no trailing slash) at which this process reaches `port` of `service`."""
    if in_module():
        yield (await service.endpoint(port=port, scheme="http")).rstrip("/")
        return
    # Only this port, to a free local port (the image may expose others).
    forward = dagger.PortForward(backend=port, frontend=0)
    tunnel = await dag.host().tunnel(service, ports=[forward]).start()
    try:
        yield (await tunnel.endpoint(scheme="http")).rstrip("/")
    finally:
        await tunnel.stop()


def default_gateway() -> str | None:
    """This container's default gateway (the engine's host, inside a module), or None."""
    try:
        lines = open("/proc/net/route", encoding="ascii").read().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) > 2 and fields[1] == "00000000":  # the default route
            raw = bytes.fromhex(fields[2])
            return ".".join(str(b) for b in reversed(raw))  # /proc gives it little-endian
    return None


def reach_loopback_registries() -> None:
    """Inside a module, let the registry client reach `127.0.0.1:PORT` registries on the
    engine's host (see pipeline.registry.client._dial_host)."""
    import os

    if in_module() and "PIPELINE_REGISTRY_LOOPBACK" not in os.environ:
        gateway = default_gateway()
        if gateway:
            os.environ["PIPELINE_REGISTRY_LOOPBACK"] = gateway
