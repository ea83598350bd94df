"""What an image controls (file names, ENV, history) cannot forge report lines or break formats."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.dag.status import LaneResult, LaneStatus, RunResult
from pipeline.findings import Evidence, Finding
from pipeline.report import findings as reports
from pipeline.report.run import render_summary
from pipeline.report.run.markdown import render_markdown
from pipeline.textsafe import markdown, mask_secret_lines, mask_secrets, portable, printable
from tests.hostile.harness import run_cli
from tests.imagebuilder import ImageBuilder, write_contract

FAKE = "passed: no findings"
# Any code point, lone surrogates (undecodable bytes) included.
hostile_text = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF,
                                     blacklist_categories=()), max_size=60)


def _findings(name: str) -> list[Finding]:
    return [Finding("secret.dotenv", f".env file in /{name}",
                    (Evidence(layer="sha256:" + "a" * 64, path=name, detail=name),)),
            Finding("fs.setuid", f"setuid {name}", (Evidence(path=name),))]


@settings(max_examples=150, deadline=None)
@given(name=hostile_text)
def test_every_format_stays_valid_and_on_its_lines(name: str) -> None:
    findings = _findings(name)
    text = reports.render("text", findings)
    # 2 findings: heading line, evidence, fix for the failing one...: never more lines
    # than the same report for a harmless name.
    assert text.count("\n") == reports.render("text", _findings("x")).count("\n")
    assert FAKE not in text.splitlines()
    md = reports.render("markdown", findings)
    assert md.count("\n") == reports.render("markdown", _findings("x")).count("\n")
    for fmt in ("json", "sarif"):
        body = reports.render(fmt, findings)
        body.encode("utf-8")                      # no lone surrogate left
        json.loads(body)
    ET.fromstring(reports.render("junit", findings).encode("utf-8"))
    for out in (text, md):
        assert "\x1b" not in out and "\r" not in out and "\u202e" not in out


@given(name=hostile_text)
def test_escapes_are_total(name: str) -> None:
    assert "\n" not in printable(name)
    assert all(ch.isprintable() or ch == " " for ch in printable(name))
    portable(name).encode("utf-8")
    assert "\n" not in markdown(name)


def test_lane_messages_cannot_forge_summary_lines() -> None:
    run = RunResult((LaneResult(name="lint", status=LaneStatus.FAILED,
                                message=f"boom\n{FAKE}\n\x1b[32mall good"),))
    for out in (render_summary(run), render_markdown(run)):
        assert FAKE not in out.splitlines()
        assert "\x1b" not in out


def test_crafted_file_names_through_check_image(tmp_path: Path) -> None:
    write_contract(tmp_path)
    image = ImageBuilder.clean()
    layer = image.layer()
    layer.file(f"app/x\n{FAKE}\n/.env", "A=1")
    layer.file("app/\x1b[2J\x1b[32mgreen/.env", "A=1")
    layer.file("app/bad\udcff\udcfe/.env", "A=1")
    layer.file("app/\u202etxt.exe/.env", "A=1")
    image.write(tmp_path / "evil.tar")
    for fmt in ("text", "markdown", "json", "sarif", "junit"):
        outcome = run_cli("check-image", "evil.tar", "--service", "backend", "--format", fmt,
                          "--reports", "reports", cwd=tmp_path)
        assert outcome.code == 1, outcome.stderr
        assert FAKE not in outcome.stdout.splitlines()
        assert "\x1b" not in outcome.stdout
        assert outcome.stdout.count(".env") >= 4 if fmt in ("text", "markdown") else True
    files = sorted((tmp_path / "reports").iterdir())
    assert len(files) == 5
    for path in files:
        body = path.read_bytes().decode("utf-8")   # valid UTF-8 whatever the names
        assert "\x1b" not in body
        if path.suffix in (".json", ".sarif"):
            json.loads(body)
        elif path.name.endswith(".xml"):
            ET.fromstring(body.encode())
        else:
            assert FAKE not in body.splitlines()


# Lane files (logs, test reports) are copied into the reports with secrets masked, streamed.
_key_body = st.lists(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
                             min_size=20, max_size=64), min_size=1, max_size=5)
_plain_lines = st.lists(st.text(st.characters(blacklist_characters="\n", codec="utf-8"),
                                max_size=40), max_size=5)


@settings(max_examples=200, deadline=None)
@given(before=_plain_lines, body=_key_body, after=_plain_lines, kind=st.sampled_from(
    ["RSA PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY", "EC PRIVATE KEY"]),
    terminated=st.booleans(), prefix=st.sampled_from(["", "key=", "  "]))
def test_a_copied_lane_file_never_holds_a_private_key(tmp_path_factory, before, body, after,
                                                      kind, terminated, prefix) -> None:
    from pipeline.report.run.writer import copy_masked

    body = [f"Zq{line}" for line in body]   # never empty, never a marker
    lines = [*before, f"{prefix}-----BEGIN {kind}-----", *body,
             *([f"-----END {kind}----- tail"] if terminated else []), *after]
    work = tmp_path_factory.mktemp("copy")
    (work / "in.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    copy_masked(work / "in.log", work / "out.log")
    out = (work / "out.log").read_bytes().decode("utf-8")
    for line in body:
        assert line not in out
    assert "[redacted]" in out
    if "\0" not in "".join(before):  # text: what comes before the key is kept, masked
        for line in before:
            assert mask_secrets(line) in out
    if terminated:
        assert " tail\n" in out


def test_a_binary_lane_file_is_copied_as_it_is(tmp_path: Path) -> None:
    from pipeline.report.run.writer import copy_masked

    data = b"\x89PNG\r\n\x1a\n\0\0" + b"Bearer abcdefghijklmnop" + bytes(range(256))
    (tmp_path / "shot.png").write_bytes(data)
    copy_masked(tmp_path / "shot.png", tmp_path / "copy.png")
    assert (tmp_path / "copy.png").read_bytes() == data
    # ...but a key in it is still masked.
    (tmp_path / "dump.bin").write_bytes(data + b"\n-----BEGIN PRIVATE KEY-----\nMIIsecretZZ\n"
                                        b"-----END PRIVATE KEY-----\n" + data)
    copy_masked(tmp_path / "dump.bin", tmp_path / "dump.copy")
    copied = (tmp_path / "dump.copy").read_bytes()
    assert b"MIIsecretZZ" not in copied and copied.startswith(data) and copied.endswith(data)


@settings(max_examples=200, deadline=None)
@given(before=st.text(max_size=30), body=_key_body, after=st.text(max_size=30),
       terminated=st.booleans())
def test_masking_is_idempotent(before, body, after, terminated) -> None:
    # A report masked once is masked again when it is copied into the run's reports: the
    # masked form must survive as it is, never swallow what follows it.
    text = (f"{before}-----BEGIN PRIVATE KEY-----\n" + "\n".join(f"Zq{b}" for b in body)
            + ("\n-----END PRIVATE KEY-----" if terminated else "") + after)
    once = mask_secrets(text)
    assert mask_secrets(once) == once
    assert "".join(mask_secret_lines(once.splitlines(keepends=True))) == once


def test_a_masked_report_copied_stays_whole(tmp_path: Path) -> None:
    from pipeline.report.run.writer import copy_masked

    finding = Finding("secret.private-key", "private key: -----BEGIN RSA PRIVATE KEY-----\n"
                      "MIIsecretQQ\n-----END RSA PRIVATE KEY-----", subject="api")
    body = reports.render("json", [finding], name="contract-api")
    assert "MIIsecretQQ" not in body
    (tmp_path / "r.json").write_text(body, encoding="utf-8")
    copy_masked(tmp_path / "r.json", tmp_path / "copy.json")
    assert (tmp_path / "copy.json").read_text(encoding="utf-8") == body
    assert json.loads(body)["findings"][0]["rule"] == "secret.private-key", body


def test_a_lanes_junit_is_merged_with_secrets_masked(tmp_path: Path) -> None:
    from pipeline.report.run.junit import merged_junit

    junit = tmp_path / "unit.xml"
    junit.write_text('<testsuite name="u"><testcase name="t"><failure message="token '
                     'postgresql://app:hunter2pw@db/x">-----BEGIN PRIVATE KEY-----\nMIIleakQQ\n'
                     '-----END PRIVATE KEY-----</failure></testcase></testsuite>', "utf-8")
    lane = LaneResult(name="unit-test:api", status=LaneStatus.FAILED, junit=(str(junit),))
    merged = ET.tostring(merged_junit(RunResult((lane,))).getroot(), encoding="unicode")
    assert "MIIleakQQ" not in merged and "hunter2pw" not in merged
    assert 'name="unit-test:api/u"' in merged and "[redacted]" in merged


@settings(max_examples=100, deadline=None)
@given(body=_key_body, kind=st.sampled_from(["RSA PRIVATE KEY", "PRIVATE KEY"]),
       marker=st.sampled_from([" [redacted]", " [redacted] ", "[redacted]", " " + "[redacted]" * 2]))
def test_a_key_written_as_if_masked_is_masked(tmp_path_factory, body, kind, marker) -> None:
    """The masked form has no BEGIN line: a key whose BEGIN line looks masked is still a key,
    whether the text is masked whole or copied line by line."""
    from pipeline.report.run.writer import copy_masked

    body = [f"Zq{line}" for line in body]
    text = "\n".join([f"-----BEGIN {kind}-----{marker}", *body, f"-----END {kind}-----", "ok"])
    work = tmp_path_factory.mktemp("marker")
    (work / "in.log").write_text(text + "\n", encoding="utf-8")
    copy_masked(work / "in.log", work / "out.log")
    for out in (mask_secrets(text), (work / "out.log").read_text(encoding="utf-8")):
        assert not any(line in out for line in body), out
        assert "ok" in out and mask_secrets(out) == out   # idempotent
