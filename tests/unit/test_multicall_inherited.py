"""Multi-call binaries (busybox applets are not tools) and base-image attribution, on tarballs."""

from __future__ import annotations

from pathlib import Path

from pipeline.contract import load_contract
from pipeline.findings import Finding, Severity
from pipeline.image.view import read_tarball
from pipeline.rules import check_image
from pipeline.rules.inherited import BaseImageLayers, own
from tests.imagebuilder import CLEAN_CONTRACT, ImageBuilder, LayerSpec, debian_like, write_contract

ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 57
APPLETS = ("sh", "ls", "dpkg", "dpkg-deb", "rpm", "wget", "httpd", "vi")


def busybox_symlinks() -> LayerSpec:
    """Alpine's and `busybox --install -s`'s layout: one binary, applets as symlinks."""
    layer = LayerSpec(created_by="COPY busybox /bin/busybox; busybox --install -s")
    layer.file("bin/busybox", ELF, 0o755)
    for name in APPLETS:
        layer.symlink(f"bin/{name}", "/bin/busybox")
    layer.symlink("usr/bin/wget", "../../bin/busybox")
    return layer


def busybox_hardlinks() -> LayerSpec:
    """The official busybox image's layout: `bin/[` is the file, every other name a hard link."""
    layer = LayerSpec(created_by="ADD busybox.tar.xz /")
    layer.file("bin/[", ELF, 0o755)
    from tests.imagebuilder import Entry
    for name in ("[[", "busybox", *APPLETS):
        layer.entries.append(Entry(f"bin/{name}", kind="hardlink", linkname="bin/["))
    return layer


def image_with(*layers: LayerSpec) -> ImageBuilder:
    image = ImageBuilder.clean()
    image.layers = [*layers, *image.layers[1:]]
    return image


def findings(tmp_path: Path, image: ImageBuilder, contract: str = CLEAN_CONTRACT,
             base: BaseImageLayers | None = None) -> list[Finding]:
    path = write_contract(tmp_path, contract)
    tarball = image.write(tmp_path / "image.tar")
    return check_image(tarball, load_contract(path), "backend", context_dir=tmp_path / "backend",
                       base=base)


def test_busybox_symlink_applets_are_one_low_finding(tmp_path: Path) -> None:
    found = findings(tmp_path, image_with(debian_like(), busybox_symlinks()))
    assert [f.rule_id for f in found] == ["multicall.binary"]
    [call] = found
    assert call.level is Severity.LOW
    assert "/bin/busybox is busybox, a multi-call binary with 8 applets" in call.message
    assert "package-managers (dpkg, rpm)" in call.message
    assert call.evidence[0].detail == "applets: dpkg dpkg-deb httpd ls rpm sh vi wget"


def test_busybox_hardlink_layout(tmp_path: Path) -> None:
    found = findings(tmp_path, image_with(debian_like(), busybox_hardlinks()))
    assert [f.rule_id for f in found] == ["multicall.binary"]
    assert "[, [[, dpkg" in found[0].message


def test_applets_count_when_the_contract_says_so(tmp_path: Path) -> None:
    contract = CLEAN_CONTRACT + '\n[services.backend.forbidden]\ncount_applets = ["package-managers"]\n'
    found = findings(tmp_path, image_with(debian_like(), busybox_symlinks()), contract)
    by_id = {f.rule_id: f for f in found}
    assert set(by_id) == {"multicall.binary", "forbidden.package-managers"}
    assert by_id["forbidden.package-managers"].level is Severity.HIGH
    assert {e.path for e in by_id["forbidden.package-managers"].evidence} == {"bin/dpkg", "bin/rpm"}
    assert "counted as tools" in by_id["multicall.binary"].message


def test_a_real_dpkg_beside_busybox_is_still_forbidden(tmp_path: Path) -> None:
    layer = busybox_symlinks()
    layer.entries = [e for e in layer.entries if e.path != "bin/dpkg"]
    layer.file("usr/bin/dpkg", ELF, 0o755)       # Debian's own, not an applet
    found = findings(tmp_path, image_with(debian_like(), layer))
    forbidden = [f for f in found if f.rule_id == "forbidden.package-managers"]
    assert [e.path for e in forbidden[0].evidence] == ["usr/bin/dpkg"]


def test_a_symlink_to_something_else_named_like_a_tool_is_a_tool(tmp_path: Path) -> None:
    layer = busybox_symlinks()
    layer.file("opt/pip/pip-real", ELF, 0o755)
    layer.symlink("usr/local/bin/pip", "/opt/pip/pip-real")
    found = findings(tmp_path, image_with(debian_like(), layer))
    assert {f.rule_id for f in found} == {"multicall.binary", "forbidden.package-managers"}


def test_files_merely_named_busybox_are_not_binaries(tmp_path: Path) -> None:
    """Corpus false positives (debian-busybox): dpkg's busybox-static.* info files, an
    initramfs hook, lintian overrides were each reported as a multi-call binary."""
    layer = busybox_symlinks()
    layer.file("var/lib/dpkg/info/busybox-static.list", "/bin/busybox\n")
    layer.file("var/lib/dpkg/info/busybox-static.md5sums", "abc  bin/busybox\n")
    layer.file("usr/share/initramfs-tools/conf-hooks.d/busybox", "BUSYBOX=y\n")
    layer.file("usr/share/lintian/overrides/busybox-static", "x\n")
    layer.file("usr/share/doc/busybox/busybox.sh", "#!/bin/sh\n", 0o755)   # executable, no applets
    found = findings(tmp_path, image_with(debian_like(), layer))
    assert [(f.rule_id, f.evidence[0].path) for f in found] == [("multicall.binary", "bin/busybox")]


def test_a_lone_busybox_in_a_bin_directory_is_reported(tmp_path: Path) -> None:
    layer = LayerSpec(created_by="COPY busybox")
    layer.file("usr/local/bin/busybox", ELF, 0o755)
    found = findings(tmp_path, image_with(debian_like(), layer))
    assert [f.rule_id for f in found] == ["multicall.binary"]
    assert "(no applet links)" in found[0].message


def test_toybox_is_recognised(tmp_path: Path) -> None:
    layer = LayerSpec(created_by="toybox")
    layer.file("bin/toybox", ELF, 0o755)
    layer.symlink("bin/rpm", "toybox")
    found = findings(tmp_path, image_with(debian_like(), layer))
    assert [f.rule_id for f in found] == ["multicall.binary"]
    assert "toybox" in found[0].message


# --- base-image attribution ---------------------------------------------------------------

def base_with_tools() -> LayerSpec:
    layer = debian_like()
    layer.file("usr/bin/su", ELF, 0o4755)
    layer.file("usr/bin/passwd", ELF, 0o4755)
    layer.file("usr/bin/dpkg", ELF, 0o755)
    layer.file("var/lib/dpkg/info/apt.list", "/usr/bin/apt\n")
    status = ("Package: base-files\nStatus: install ok installed\n\n"
              "Package: apt\nStatus: install ok installed\n")
    layer.entries = [e for e in layer.entries if e.path != "var/lib/dpkg/status"]
    layer.file("var/lib/dpkg/status", status)
    return layer


def base_layers(image: ImageBuilder, tmp_path: Path, count: int = 1,
                reference: str = "127.0.0.1:5000/pipeline/debian:bookworm") -> BaseImageLayers:
    """The base's diff_ids as the registry would list them: the image's first `count`."""
    built = read_tarball(image.write(tmp_path / "probe.tar"))
    return BaseImageLayers(reference, tuple(layer.digest for layer in built.layers[:count]),
                           history=count)


def test_findings_from_the_base_layers_are_labelled_inherited(tmp_path: Path) -> None:
    app = LayerSpec(created_by="COPY . /app")
    app.file("app/tool", ELF, 0o4755)          # setuid, added by the app itself
    image = image_with(base_with_tools(), app)
    base = base_layers(image, tmp_path)
    found = findings(tmp_path, image, base=base)
    inherited = {f.rule_id: f for f in found if f.inherited_from}
    mine = own(found)
    assert set(inherited) == {"fs.setuid", "forbidden.package-managers"}
    setuid = inherited["fs.setuid"]
    assert setuid.message == ("2 setuid/setgid files: /usr/bin/passwd, /usr/bin/su "
                              "(inherited from 127.0.0.1:5000/pipeline/debian:bookworm)")
    assert "pick another base" in setuid.remediation and "waive" in setuid.remediation
    assert setuid.as_dict()["inherited_from"] == base.reference
    # The app's own setuid file stays the app's, with the usual advice.
    assert [(f.rule_id, f.message) for f in mine] == [("fs.setuid", "/app/tool is setuid (mode 4755)")]
    assert "base" not in mine[0].remediation


def test_package_from_the_base_vs_package_the_app_installed(tmp_path: Path) -> None:
    app = LayerSpec(created_by="RUN pip install pytest")
    app.file("usr/lib/python3/dist-packages/pytest-8.0.dist-info/METADATA", "Name: pytest\n")
    image = image_with(base_with_tools(), app)
    found = findings(tmp_path, image, base=base_layers(image, tmp_path))
    by = {(f.rule_id, f.inherited_from is not None) for f in found}
    assert ("forbidden.test-frameworks", False) in by
    assert ("forbidden.package-managers", True) in by


def test_same_class_split_between_base_and_app(tmp_path: Path) -> None:
    app = LayerSpec(created_by="RUN install npm")
    app.file("usr/local/bin/npm", ELF, 0o755)
    image = image_with(base_with_tools(), app)
    found = [f for f in findings(tmp_path, image, base=base_layers(image, tmp_path))
             if f.rule_id == "forbidden.package-managers"]
    assert sorted((f.inherited_from is not None, tuple(e.path for e in f.evidence)) for f in found) == [
        (False, ("usr/local/bin/npm",)),
        (True, ("usr/bin/dpkg", "var/lib/dpkg/status")),
    ]


def test_no_attribution_without_a_full_base_match(tmp_path: Path) -> None:
    image = image_with(base_with_tools())
    stale = BaseImageLayers("debian:bookworm", ("sha256:" + "0" * 64,), history=1)
    found = findings(tmp_path, image, base=stale)
    assert found and not any(f.inherited_from for f in found)
    whole = base_layers(image, tmp_path, count=2)
    longer = BaseImageLayers(whole.reference, (*whole.diff_ids, "sha256:" + "1" * 64), history=3)
    assert not any(f.inherited_from for f in findings(tmp_path, image, base=longer))


def test_config_findings_are_never_inherited(tmp_path: Path) -> None:
    image = image_with(base_with_tools())
    image.config["User"] = ""
    found = findings(tmp_path, image, base=base_layers(image, tmp_path))
    [root] = [f for f in found if f.rule_id == "user.root"]
    assert root.inherited_from is None


def test_history_secret_in_the_base_history_is_inherited(tmp_path: Path) -> None:
    base = base_with_tools()
    base.created_by = "ARG GITHUB_TOKEN=ghp_" + "b" * 36
    image = image_with(base)
    found = findings(tmp_path, image, base=base_layers(image, tmp_path))
    [secret] = [f for f in found if f.rule_id == "history.secret"]
    assert secret.inherited_from is not None


def test_inherited_tool_classes_are_reported_at_medium_unless_enforced(tmp_path: Path) -> None:
    image = image_with(base_with_tools())
    base = base_layers(image, tmp_path)
    [tools] = [f for f in findings(tmp_path, image, base=base)
               if f.rule_id == "forbidden.package-managers"]
    assert tools.level is Severity.MEDIUM and tools.inherited_from
    enforce = CLEAN_CONTRACT + '\n[services.backend.forbidden]\ninherited = "enforce"\n'
    [tools] = [f for f in findings(tmp_path, image, enforce, base=base)
               if f.rule_id == "forbidden.package-managers"]
    assert tools.level is Severity.HIGH and tools.inherited_from


def test_alpine_apk_from_the_base_is_inherited(tmp_path: Path) -> None:
    """apk's database is one file rewritten by every install: a package's layer is its
    first file's, so the base's apk-tools is the base's."""
    alpine = LayerSpec(created_by="ADD alpine-minirootfs.tar.gz /")
    alpine.file("etc/passwd", "root:x:0:0::/root:/bin/sh\n")
    alpine.file("sbin/apk", ELF, 0o755)
    alpine.file("bin/busybox", ELF, 0o755)
    alpine.symlink("bin/sh", "/bin/busybox")
    alpine.file("lib/apk/db/installed", "P:busybox\nF:bin\nR:busybox\n\nP:apk-tools\nF:sbin\nR:apk\n")
    app = LayerSpec(created_by="RUN apk add py3-pip")
    app.file("usr/bin/pip", ELF, 0o755)
    app.file("lib/apk/db/installed", "P:busybox\nF:bin\nR:busybox\n\nP:apk-tools\nF:sbin\nR:apk\n\n"
             "P:py3-pip\nF:usr/bin\nR:pip\n")
    image = image_with(alpine, app)
    found = [f for f in findings(tmp_path, image, base=base_layers(image, tmp_path))
             if f.rule_id == "forbidden.package-managers"]
    assert sorted((f.inherited_from is not None, [e.path for e in f.evidence]) for f in found) == [
        (False, ["usr/bin/pip"]), (True, ["sbin/apk", "lib/apk/db/installed"])]


def test_reused_results_keep_the_inherited_label(tmp_path: Path, monkeypatch) -> None:
    """Contract results reused by digest (pipeline.lanes.reuse) round-trip the attribution."""
    import anyio

    from pipeline.findings import Evidence
    from pipeline.lanes import reuse

    monkeypatch.setenv(reuse.STORE_ENV, str(tmp_path))
    finding = Finding("fs.setuid", "2 setuid/setgid files (inherited from base:1)",
                      (Evidence(layer="sha256:" + "a" * 64, path="usr/bin/su"),),
                      inherited_from="base:1")
    store, key = reuse.local_store(), "c" * 64
    anyio.run(reuse.save, store, key, "sha256:" + "b" * 64, [finding])
    stored = anyio.run(reuse.load, store, key)
    assert stored is not None and stored.findings[0].inherited_from == "base:1"
