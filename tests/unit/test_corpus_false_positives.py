"""False positives the precision corpus (tests/corpus) found, each pinned with its fix."""

from __future__ import annotations

from pathlib import Path

from pipeline.contract import load_contract
from pipeline.rules import check_image, patterns
from tests.imagebuilder import CLEAN_CONTRACT, ImageBuilder, write_contract

# npm's lib/utils/config/definitions.js documents the `key` option with a sample PEM.
NPM_DOCS = b'''
  key: new Definition('key', {
    default: null,
    type: [null, String],
    description: `
      A client key to pass when accessing the registry.  Values should be in
      PEM format with newlines replaced by the string "\\\\n". For example:

      \\`\\`\\`ini
      key="-----BEGIN PRIVATE KEY-----\\\\nXXXX\\\\nXXXX\\\\n-----END PRIVATE KEY-----"
      \\`\\`\\`
    `,
  }),
'''


def _ids(tmp_path: Path, path: str, data: bytes) -> list[str]:
    image = ImageBuilder.clean()
    image.layer("RUN apt-get install npm").file(path, data)
    contract = write_contract(tmp_path, CLEAN_CONTRACT)
    tarball = image.write(tmp_path / "image.tar")
    return [f.rule_id for f in check_image(tarball, load_contract(contract), "backend",
                                           context_dir=tmp_path / "backend")]


def test_a_documented_pem_placeholder_is_not_a_private_key(tmp_path: Path) -> None:
    assert _ids(tmp_path, "usr/share/nodejs/npm/lib/utils/config/definitions.js", NPM_DOCS) == []


def test_an_escaped_real_key_in_a_js_string_still_is(tmp_path: Path) -> None:
    leaked = b'const key = "-----BEGIN PRIVATE KEY-----\\nMC4CAQAwBQYDK2VwBCIEIGx0aGlzaXNub3RhcmVhbGtleQ\\n";'
    assert _ids(tmp_path, "app/config.js", leaked) == ["secret.private-key"]


def test_pem_evidence_is_the_header_only() -> None:
    found = patterns.CONTENT.search(b"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oG0\n")
    assert found is not None
    assert patterns.redact(found.group(0)) == "-----BEGIN EC PRIVATE KEY-----"
