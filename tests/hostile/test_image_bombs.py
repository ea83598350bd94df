"""Hostile image tarballs: each bomb class of issue 13 gets a one-line error (exit 2) or the
right verdict, in bounded memory and time, run as a real `pipeline check-image` process.

The bounds are generous ceilings (these bombs took gigabytes or minutes before), not speed
figures: benchmarks/image_bombs.py prints those. Hypothesis drives the tarball structure:
the final filesystem matches a plain model of OCI whiteout rules, and hostile header fields
end in one ImageError line, never another exception.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import ImageError
from pipeline.image import Kind, read_tarball
from pipeline.image.filesystem import Filesystem
from pipeline.image.model import FileEntry
from tests.hostile import image_bombs as bombs
from tests.imagebuilder import ImageBuilder, LayerSpec

PEAK_CEILING_MIB = 200        # the reader used 4-6 GB on the pax/long-name bombs
WALL_CEILING_S = 120          # absent whiteouts took 108 s on a 46 MB image


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("bombs")
    bombs.write_contract(directory)
    return directory


def assert_one_line_error(run: bombs.Run, tarball: Path, *needles: str) -> None:
    assert run.returncode == 2, run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("pipeline: error: ") and str(tarball) in lines[0]
    assert "Traceback" not in run.stderr
    for needle in needles:
        assert needle in lines[0]
    assert run.stdout == ""


def assert_bounded(run: bombs.Run) -> None:
    assert run.peak_mib < PEAK_CEILING_MIB, f"peak {run.peak_mib:.0f} MiB"
    assert run.seconds < WALL_CEILING_S, f"{run.seconds:.0f} s"


@pytest.mark.parametrize(("bomb", "needle"), [
    ("huge-pax", "pax header of 64000000 bytes exceeds"),
    ("gnu-long-name", "GNU long name header of 64000000 bytes exceeds"),
    ("negative-size", "negative member size"),
    ("oversized-member", "runs past the end"),
    ("package-dbs", "package-database files exceed"),
    ("deep-paths", "MiB of path names"),
])
def test_bomb_is_one_line_error_in_bounded_memory(workdir: Path, bomb: str,
                                                  needle: str) -> None:
    tarball = bombs.BOMBS[bomb](workdir / f"{bomb}.tar")
    run = bombs.check_image(tarball, workdir / "pipeline.toml")
    assert_one_line_error(run, tarball, needle)
    assert_bounded(run)


@pytest.mark.parametrize(("fmt", "claim"), [
    ("docker", "diff_id in the config"),
    ("oci", "digest sha256:"),
    ("oci-gzip", "digest sha256:"),
    ("docker-gz", "diff_id in the config"),
])
def test_layer_not_matching_its_digest_is_refused(workdir: Path, fmt: str, claim: str) -> None:
    tarball = bombs.digest_mismatch(workdir / f"mismatch-{fmt}.tar", fmt=fmt)
    run = bombs.check_image(tarball, workdir / "pipeline.toml")
    assert_one_line_error(run, tarball, "layer 2", "does not match its", claim)


def test_untampered_images_pass_the_digest_check(tmp_path: Path) -> None:
    for fmt, compress in (("docker", False), ("oci", False), ("oci", True)):
        image = ImageBuilder.clean()
        image.layer().file("payload/data.bin", b"original")
        assert read_tarball(image.write(tmp_path / "i.tar", fmt=fmt, compress=compress))


def test_whiteouts_of_absent_paths_get_the_verdict(workdir: Path) -> None:
    tarball = bombs.absent_whiteouts(workdir / "whiteouts.tar", size=20)
    run = bombs.check_image(tarball, workdir / "pipeline.toml")
    assert run.returncode in (0, 1), run.stderr
    assert "Traceback" not in run.stderr
    assert_bounded(run)
    image = read_tarball(tarball)
    assert sum(1 for e in image.list("srv/*") if e.kind is Kind.FILE) == 20_000


def test_a_whiteout_of_an_absent_path_visits_nothing() -> None:
    """Linear cost, shown by work done rather than time: an absent whiteout touches no entry."""
    fs = Filesystem()
    for i in range(5000):
        fs.add(FileEntry(f"srv/d{i // 100}/f{i}", Kind.FILE, 0o644, 1, 0, 0, 0))
    visited: list[str] = []

    class Spy(dict):  # type: ignore[type-arg]
        def pop(self, key: str, *default: object) -> object:
            visited.append(key)
            return super().pop(key, *default)

    fs._entries = Spy(fs._entries)  # noqa: SLF001 - counting the reader's own work
    for i in range(5000):
        assert fs.whiteout(f"nowhere/d{i // 100}/f{i}") == []
    assert len(visited) == 5000          # one lookup each, no scan
    assert len(fs) == 5000
    assert len(fs.whiteout("srv")) == 5000 and len(fs) == 0   # directories were implicit


def test_a_path_longer_than_path_max_is_an_image_error(tmp_path: Path) -> None:
    image = ImageBuilder.clean()
    image.layer().file("x/" * 2100 + "f", b"x")
    with pytest.raises(ImageError, match="longer than PATH_MAX") as info:
        read_tarball(image.write(tmp_path / "i.tar"))
    assert "\n" not in str(info.value)


def test_a_layer_listed_again_and_again_is_refused(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.image.view as view

    monkeypatch.setattr(view, "MAX_REREAD", 10_000)
    path = ImageBuilder.clean().write(tmp_path / "i.tar")
    members = bombs.read_members(path)
    manifest = json.loads(members["manifest.json"])
    config_name = manifest[0]["Config"]
    config = json.loads(members.pop(config_name))
    layer = manifest[0]["Layers"][0]
    manifest[0]["Layers"] += [layer] * 20
    config["rootfs"]["diff_ids"] += [config["rootfs"]["diff_ids"][0]] * 20
    config_bytes = json.dumps(config).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    members[config_name] = config_bytes
    manifest[0]["Config"] = config_name
    members["manifest.json"] = json.dumps(manifest).encode()
    bombs.write_members(path, members)
    with pytest.raises(ImageError, match="again and again") as info:
        read_tarball(path)
    assert "\n" not in str(info.value)
    monkeypatch.setattr(view, "MAX_REREAD", 10**9)
    assert read_tarball(path).layers[-1].digest == config["rootfs"]["diff_ids"][0]


def test_node_cap_is_an_image_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.image.filesystem as filesystem
    import pipeline.image.view as view

    monkeypatch.setattr(view, "MAX_NODES", 50)
    monkeypatch.setattr(filesystem, "MAX_NODES", 50)
    image = ImageBuilder.clean()
    layer = image.layer()
    for i in range(100):
        layer.file(f"many/f{i}", b"x")
    with pytest.raises(ImageError, match="more than 50 paths"):
        read_tarball(image.write(tmp_path / "i.tar"))


# --- hypothesis: tarball structure -----------------------------------------------------

_NAMES = st.sampled_from(["a", "b", "c"])
_PATHS = st.lists(_NAMES, min_size=1, max_size=3).map("/".join)
_OPS = st.one_of(
    st.tuples(st.just("file"), _PATHS), st.tuples(st.just("dir"), _PATHS),
    st.tuples(st.just("symlink"), _PATHS), st.tuples(st.just("delete"), _PATHS),
    st.tuples(st.just("opaque"), _PATHS),
)
_KINDS = {"file": Kind.FILE, "dir": Kind.DIR, "symlink": Kind.SYMLINK}


def _model(layers: list[LayerSpec]) -> dict[str, Kind]:
    """OCI whiteouts the plain way: quadratic, obviously right."""
    state: dict[str, Kind] = {}

    def drop_below(path: str) -> None:
        for key in [k for k in state if k.startswith(f"{path}/")]:
            del state[key]

    for spec in layers:
        additions = []
        for entry in spec.entries:
            directory, _, base = entry.path.rpartition("/")
            if base == ".wh..wh..opq":
                drop_below(directory)
            elif base.startswith(".wh."):
                target = f"{directory}/{base[4:]}" if directory else base[4:]
                state.pop(target, None)
                drop_below(target)
            else:
                additions.append(entry)
        for entry in additions:
            kind = _KINDS[entry.kind]
            if state.get(entry.path) is Kind.DIR and kind is not Kind.DIR:
                drop_below(entry.path)
            state[entry.path] = kind
    return state


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layers=st.lists(st.lists(_OPS, max_size=8), min_size=1, max_size=4),
       fmt=st.sampled_from(["docker", "oci"]), compress=st.booleans())
def test_final_filesystem_matches_the_whiteout_model(tmp_path: Path, layers: list,
                                                     fmt: str, compress: bool) -> None:
    image = ImageBuilder(config={"User": "1000"})
    for ops in layers:
        spec = image.layer()
        for op, path in ops:
            if op == "file":
                spec.file(path, path.encode())
            elif op == "dir":
                spec.dir(path)
            elif op == "symlink":
                spec.symlink(path, "elsewhere")
            elif op == "delete":
                spec.delete(path)
            else:
                spec.opaque(path)
    view = read_tarball(image.write(tmp_path / "i.tar", fmt=fmt, compress=compress))
    assert {e.path: e.kind for e in view.list()} == _model(image.layers)


_SIZE_FIELDS = st.one_of(
    st.integers(0, 10**13).map(lambda n: f"{n:011o}\0".encode()[-12:]),
    st.binary(min_size=12, max_size=12),
    st.just(b"\xff" * 12), st.just(b"\x80" + b"\xff" * 11),
)
_TYPES = st.sampled_from([b"0", b"x", b"g", b"L", b"K", b"S", b"5", b"2", b"1", b"7", b"Z"])


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(members=st.lists(st.tuples(_TYPES, _SIZE_FIELDS, st.binary(max_size=2048)),
                        min_size=1, max_size=5),
       compress=st.booleans())
def test_hostile_headers_end_in_one_image_error(tmp_path: Path, members: list,
                                                compress: bool) -> None:
    """Any mix of header types, size fields (huge, negative, garbage) and data in a layer."""
    blob = b"".join(bombs.ustar_header(f"m{i}", kind=kind, size_field=field) + data
                    + b"\0" * (-len(data) % 512)
                    for i, (kind, field, data) in enumerate(members)) + b"\0" * 1024
    if compress:
        blob = bombs._gzip(iter([blob]))  # noqa: SLF001
    path = tmp_path / "i.tar"
    bombs._with_layer(path, blob)  # noqa: SLF001
    try:
        read_tarball(path, on_file=lambda layer, name, content: None)
    except ImageError as exc:
        assert "\n" not in str(exc)


def test_outer_tarball_pax_bomb(tmp_path: Path) -> None:
    """The outer tarball read by the same bounded reader: a huge pax header there too."""
    declared = 64 * bombs.MB
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"[]"))
    blob, _ = bombs._gzip(iter([bombs.ustar_header("././@PaxHeader", declared, b"x"),  # noqa: SLF001
                               *bombs._zeros(declared), inner.getvalue()]))  # noqa: SLF001
    path = tmp_path / "outer.tar.gz"
    path.write_bytes(blob)
    with pytest.raises(ImageError, match="pax header of 64000000 bytes exceeds") as info:
        read_tarball(path)
    assert "\n" not in str(info.value)


def test_a_layer_inflating_past_its_bounds_is_refused(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A gzip layer may inflate ~1000x: past the floor and INFLATE_RATIO x its size it is a
    one-line ImageError, read no further; under the floor the same layer is read whole."""
    from pipeline.image import view

    tarball = bombs.inflating(tmp_path / "inflating.tar", size=48)
    monkeypatch.setattr(view, "INFLATE_FLOOR", 16 << 20)
    with pytest.raises(ImageError, match="inflates past 16 MiB, more than 200x its compressed"):
        read_tarball(tarball)
    monkeypatch.setattr(view, "INFLATE_FLOOR", 64 << 20)
    image = read_tarball(tarball)
    assert image.fs.get("zeros") is not None
