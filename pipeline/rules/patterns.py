"""Secret patterns shared by the content scan, the ENV rule and the history rule.

Kept to formats with a fixed, recognisable shape (few false positives):
PEM private keys, AWS/Google keys, GitHub/GitLab/Slack/Stripe/npm tokens.
"""

from __future__ import annotations

import re

import re2  # type: ignore[import-untyped]

# (finding rule id, label, pattern); bytes patterns for file content, str for text.
_PATTERNS: tuple[tuple[str, str, str], ...] = (
    # The header, then key material: optional PEM headers (Proc-Type: ...) and at least
    # 20 base64 characters, across real or escaped ("\n" in a JS string) newlines.
    # Documentation showing the format (npm's `key` option: "-----BEGIN PRIVATE
    # KEY-----\nXXXX\nXXXX") has no such body.
    ("secret.private-key", "private key",
     r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"
     r"(?:\s|\\[rn])+(?:[A-Za-z-]+: [^\r\n]*(?:\s|\\[rn])+)*[A-Za-z0-9+/=]{20}"),
    ("secret.cloud-key", "AWS access key id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("secret.cloud-key", "Google API key", r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    ("secret.token", "GitHub token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{60,})\b"),
    ("secret.token", "GitLab token", r"\bglpat-[A-Za-z0-9_\-]{20}\b"),
    ("secret.token", "Slack token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),
    ("secret.token", "Stripe live key", r"\b[sr]k_live_[0-9A-Za-z]{20,}\b"),
    ("secret.token", "npm token", r"\bnpm_[A-Za-z0-9]{36}\b"),
)

# One alternation, one pass over each file; the group index says which pattern hit.
# RE2 runs it as a DFA (linear time, ~500 MB/s); Python's re backtracks through
# every alternative at every byte (~6 MB/s for this pattern set).
CONTENT = re2.compile("|".join(f"({p})" for _, _, p in _PATTERNS).encode())
TEXT = re.compile("|".join(f"({p})" for _, _, p in _PATTERNS))
KINDS: tuple[tuple[str, str], ...] = tuple((rid, label) for rid, label, _ in _PATTERNS)
PATTERNS = _PATTERNS            # the same set, for pipeline.rules.prefilter

# Variable names that announce a secret (dockle's CIS-DI-0010 uses a similar list).
SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL|AUTH_?KEY)",
    re.IGNORECASE,
)
# Values that are clearly not secrets: empty, references, placeholders, file paths.
_PLACEHOLDER = re.compile(r"^(|\$.*|changeme|change-me|x+|\*+|<[^>]*>"
                          r"|/[^\s]*|none|null|false|true|0|1)$", re.IGNORECASE)


def is_placeholder(value: str) -> bool:
    return _PLACEHOLDER.match(value.strip().strip("'\"")) is not None


def match_text(text: str) -> tuple[str, str, str] | None:
    """(rule id, label, matched text) for the first secret pattern in `text`."""
    found = TEXT.search(text)
    if not found:
        return None
    rid, label = KINDS[found.lastindex - 1] if found.lastindex else KINDS[0]
    return rid, label, found.group(0)


def redact(secret: str | bytes) -> str:
    """Enough to recognise the secret, never enough to use it."""
    text = secret.decode("ascii", "replace") if isinstance(secret, bytes) else secret
    if text.startswith("-----BEGIN"):
        # The header says what it is; the key body never appears (a full PEM in an ENV
        # value or ARG line used to be shown whole).
        header = re.match(r"-----BEGIN [A-Z0-9 ]{0,40}-----", text)
        return header.group(0) if header else "-----BEGIN"
    # A prefix only when the secret is long enough that 4 characters do not give it away.
    return f"{text[:4]}…({len(text)} chars)" if len(text) >= 16 else f"…({len(text)} chars)"
