"""Hypothesis strategies for hostile contracts and image references."""

from __future__ import annotations

from hypothesis import strategies as st

# Values of every TOML type, including the ones a field must refuse.
scalars = st.one_of(
    st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.sampled_from(["8000", "1e400", "9" * 400, "../..", "/etc", "\x00", "a\nb", "٨٠"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)

INTEGER_FIELDS = ("port", "user.uid_min", "user.uid", "health.status")


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(str(value), repr(value))
    if isinstance(value, str):
        return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}"
                             for c in value) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{_toml_value(str(k))} = {_toml_value(v)}"
                           for k, v in value.items()) + "}"


@st.composite
def contracts(draw: st.DrawFn) -> str:
    """A contract whose one service has a hostile value in one field."""
    field = draw(st.sampled_from((*INTEGER_FIELDS, "max_size", "context", "dockerfile",
                                  "health.startup_seconds", "env", "labels", "runtime")))
    value = draw(values)
    lines = ["[services.api]"]
    fields = {"context": '"."', "port": "8000"}
    head, _, tail = field.partition(".")
    fields[head] = (f"{{ {tail} = {_toml_value(value)} }}" if tail else _toml_value(value))
    lines += [f"{key} = {text}" for key, text in fields.items()]
    return "\n".join(lines) + "\n"


@st.composite
def nested(draw: st.DrawFn) -> str:
    """Deep nesting of one kind: arrays, inline tables, dotted keys, table headers."""
    depth = draw(st.integers(min_value=33, max_value=50_000))
    kind = draw(st.sampled_from(("array", "inline", "dotted", "header", "spaced")))
    if kind == "array":
        return "a = " + "[" * depth + "]" * depth + "\n"
    if kind == "inline":
        return "a = " + "{b = " * depth + "1" + "}" * depth + "\n"
    if kind == "dotted":
        return ".".join(["a"] * depth) + " = 1\n"
    if kind == "spaced":
        return " . ".join(['"a"'] * depth) + " = 1\n"
    return "[" + ".".join(["a"] * depth) + "]\n"


_host = st.one_of(st.just("127.0.0.1:5000"), st.from_regex(r"[a-z]{1,10}(\.[a-z]{1,5}){0,2}",
                                                           fullmatch=True))
references = st.one_of(
    st.text(max_size=300),
    st.builds(lambda h, r, t: f"{h}/{r}{t}", _host, st.text(max_size=80),
              st.sampled_from(["", ":latest", "@sha256:" + "a" * 64, "@sha256:xyz", ":" * 3])),
    st.builds(lambda u, p, h: f"{u}:{p}@{h}/team/app", st.text(min_size=1, max_size=10),
              st.text(min_size=1, max_size=10), _host),
    st.builds(lambda n: "a" * n + "/b", st.integers(min_value=500, max_value=200_000)),
)
