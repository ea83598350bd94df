"""The content scan in batches on a worker thread finds what scanning each file did, in order."""

from __future__ import annotations

import random

import pytest

from pipeline.image.model import Layer
from pipeline.rules import content, patterns, prefilter
from pipeline.rules.content import ContentScan, Hit, is_dotenv

LAYER = Layer(0, "sha256:" + "0" * 64, 0)
SECRETS = [b"AKIAABCDEFGHIJKLMNOP", b"ghp_" + b"a" * 36, b"glpat-" + b"b" * 20,
           b"-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX\n"]


def one_by_one(files: list[tuple[str, bytes]]) -> list[Hit]:
    """What the scan found before it batched: each file alone, in turn."""
    hits: list[Hit] = []
    for path, data in files:
        if is_dotenv(path):
            hits.append(Hit("secret.dotenv", ".env file", path, LAYER, f"{len(data)} bytes"))
        if data.find(b"\0", 0, 8192) != -1 or not prefilter.may_hold_secret(data):
            continue
        seen: set[str] = set()
        for found in patterns.CONTENT.finditer(data):
            rule_id, label = patterns.KINDS[(found.lastindex or 1) - 1]
            if label not in seen:
                seen.add(label)
                hits.append(Hit(rule_id, label, path, LAYER, patterns.redact(found.group(0))))
    return hits


def files(count: int, seed: int) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        size = rng.randrange(0, 40_000)
        if n % 3 == 0:
            data = rng.randbytes(size)
        else:
            data = b"".join(rng.choice([b"word ", b"value\n", b"x", b"_"]) for _ in range(size // 4))
        if rng.random() < 0.1:
            secret = rng.choice(SECRETS)
            at = rng.choice([0, len(data) // 2, len(data)])
            data = data[:at] + secret + data[at:]
        name = rng.choice(["app/.env", "app/.env.example", f"app/f{n}.py"])
        out.append((name, data))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_batches_on_a_worker_find_what_one_file_at_a_time_did(seed: int) -> None:
    given = files(600, seed)          # ~8 MB of text: many batches, the worker runs
    scan = ContentScan()
    for path, data in given:
        scan.feed(LAYER, path, data)
    assert scan._worker is not None
    expected = one_by_one(given)
    assert any(h.rule_id != "secret.dotenv" for h in expected)
    assert scan.hits == expected
    assert scan.hits == expected       # asked again: the same


def test_a_small_image_is_scanned_without_a_thread() -> None:
    scan = ContentScan()
    scan.feed(LAYER, "app/key.txt", SECRETS[0])
    assert scan._worker is None
    assert [h.label for h in scan.hits] == ["AWS access key id"]


def test_a_worker_error_reaches_the_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(buffers: object) -> list[int]:
        raise RuntimeError("scan failed")
    monkeypatch.setattr(prefilter, "candidates", broken)
    monkeypatch.setattr(content, "BATCH_BYTES", 10)
    scan = ContentScan()
    for n in range(10):       # more batches than IN_FLIGHT: the reader never blocks for good
        scan.feed(LAYER, f"f{n}", b"some text " * 10)
    with pytest.raises(RuntimeError, match="scan failed"):
        scan.hits  # noqa: B018 - the property waits for the worker


def test_close_stops_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(content, "BATCH_BYTES", 10)
    scan = ContentScan()
    scan.feed(LAYER, "f", b"some text " * 10)
    worker = scan._worker
    assert worker is not None
    scan.close()
    worker._thread.join(timeout=10)
    assert not worker._thread.is_alive()
