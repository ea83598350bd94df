"""Text an image, a registry or a user controls, made safe to print or to store in a report.

Three layers, each built on the one before:

- `mask_secrets`: private-key PEM blocks, URL passwords (``user:pw@``) and bearer
  tokens replaced, whatever else the text holds.
- `portable`: also valid in JSON, SARIF and XML 1.0: undecodable bytes (kept by
  ``surrogateescape`` in file names) and characters XML forbids become ``\\xNN``.
- `printable`: also one line with no terminal control: newlines, ANSI escapes,
  C1 controls, bidirectional overrides (anything not printable) become visible
  escapes, so a crafted file name cannot print a line of its own (a fake
  ``passed: no findings``).

`markdown` adds Markdown's own escaping to `printable`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import Any

# -- secrets -------------------------------------------------------------------------

# A private-key block up to its END line; with no END line, everything after BEGIN. The
# masked form has no BEGIN line left, so masking is idempotent (a report masked once is
# masked again when copied into the run's reports) and no text can pass as masked.
_PEM = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----"
    r"(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|.*)",
    re.DOTALL,
)
# scheme://user:password@host -> scheme://user:***@host (RFC 3986 userinfo).
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+@")
# user:password@host/... without a scheme (an image reference someone wrote with credentials).
_REF_PASSWORD = re.compile(r"(?<![\w/:@])(?P<head>[^\s/@:'\"]+:)[^\s/@'\"]+@(?=[\w.\[\]-]+(?::\d+)?/)")
_BEARER = re.compile(r"(?P<head>\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)

REDACTED = "[redacted]"


def mask_secrets(text: str) -> str:
    """`text` with private keys, URL passwords and Authorization credentials masked."""
    text = mask_private_keys(text)
    if "@" in text:
        text = _REF_PASSWORD.sub(r"\g<head>***@", _URL_PASSWORD.sub(r"\g<head>***@", text))
    return _BEARER.sub(rf"\g<head>{REDACTED}", text)


_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")


def mask_private_keys(text: str) -> str:
    """`text` with private-key PEM blocks masked, and nothing else changed."""
    if "PRIVATE KEY" not in text:
        return text
    return _PEM.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


def mask_secret_lines(lines: Iterable[str], *, keys_only: bool = False) -> Iterator[str]:
    """`mask_secrets` over a stream of lines, in bounded memory: a private key whose block
    spans lines is dropped from its BEGIN line up to and including its END line.
    `keys_only`: mask private keys and nothing else (binary data, where a URL-shaped
    run of bytes is no URL)."""
    mask = mask_private_keys if keys_only else mask_secrets
    inside = False
    for line in lines:
        if inside:
            end = _PEM_END.search(line)
            if end is None:
                continue
            line, inside = line[end.end():], False
        begins = list(_PEM_BEGIN.finditer(line))
        if begins and not _PEM_END.search(line, begins[-1].end()):
            inside = True  # the key goes on below this line
            tail = "\n" if line.endswith("\n") else ""
            line = mask(line.rstrip("\n")) + tail
        else:
            line = mask(line)
        yield line


# -- machine formats (JSON, SARIF, XML) ----------------------------------------------

@cache
def _not_portable() -> re.Pattern[str]:
    # Lone surrogates (surrogateescape'd bytes) and what XML 1.0 §2.2 forbids. Compiled
    # on first use: ~10 ms, and a text report (check-image's default) never needs it.
    return re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if 0xDC80 <= code <= 0xDCFF:       # a byte surrogateescape could not decode
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def portable(text: str) -> str:
    """`text` masked and valid in any JSON or XML document (every code point allowed)."""
    return _not_portable().sub(_escape_char, mask_secrets(text))


def portable_tree(value: Any) -> Any:
    """Every string in a JSON-like tree made `portable` (keys included)."""
    return _map_strings(value, portable)


# -- terminal, text and Markdown -----------------------------------------------------

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_one(char: str) -> str:
    named = _NAMED.get(char)
    if named:
        return named
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:       # a byte surrogateescape could not decode
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def printable(text: str) -> str:
    """`text` masked, on one line, every character that is not printable shown as an escape.

    "Not printable" is Python's (and Unicode's) notion: controls (C0, C1, ANSI
    escapes), format characters (bidi overrides, zero-width), separators other
    than the space, surrogates, private-use and unassigned code points.
    """
    text = mask_secrets(text)
    if text.isascii() and text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape_one(ch) for ch in text)


def printable_lines(text: str) -> str:
    """Each line of a multi-line text made `printable`; the line breaks kept."""
    return "\n".join(printable(line) for line in text.split("\n"))


_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def markdown(text: str) -> str:
    """`printable`, then Markdown's special characters backslash-escaped."""
    return _MARKDOWN.sub(r"\\\1", printable(text))


def _map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {_map_strings(k, fn): _map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_map_strings(v, fn) for v in value]
    return value
