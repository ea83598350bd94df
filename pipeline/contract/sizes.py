"""Human sizes ("300MB", "1.5 GiB") to bytes: decimal units are powers of 1000, binary of 1024."""

from __future__ import annotations

import re

_UNITS: dict[str, int] = {
    "": 1, "b": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
    # Kubernetes quantities ("256Mi"), as resource budgets are usually written.
    "ki": 1024, "mi": 1024**2, "gi": 1024**3, "ti": 1024**4,
}
_SIZE = re.compile(r"^\s*(\d{1,30}(?:\.\d{1,30})?)\s*([a-zA-Z]{0,3})\s*$")
MAX_SIZE = 1000**5   # 1 PB: far beyond any image, far below any overflow


def parse_size(value: int | str) -> int:
    """Bytes in `value`; raises ValueError naming the accepted units."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as '300MB', not a boolean")  # noqa: TRY004 - pydantic reports ValueError
    if isinstance(value, int):
        return _bounded(value)
    if not isinstance(value, str):
        raise ValueError("expected a size such as '300MB'")  # noqa: TRY004 - as above
    match = _SIZE.match(value)
    unit = match.group(2).lower() if match else None
    if not match or unit not in _UNITS:
        raise ValueError(f"{value[:40]!r} is not a size (number + one of B, KB, MB, GB, KiB, MiB, GiB)")
    number = match.group(1)
    if "." not in number:            # "300MB": exact in integers, no Fraction to import
        return _bounded(int(number) * _UNITS[unit])
    from fractions import Fraction

    # Fraction, not float: exact, and no OverflowError for a long run of digits.
    return _bounded(int(Fraction(number) * _UNITS[unit]))


def _bounded(size: int) -> int:
    if size <= 0:
        raise ValueError("size must be positive")
    if size > MAX_SIZE:
        raise ValueError("size is over the 1 PB limit")
    return size


def format_size(size: int) -> str:
    """`size` bytes as the shortest decimal unit, e.g. 312.4 MB."""
    for unit, factor in (("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} B"


_CPU = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m?)\s*$")


def parse_cpu(value: int | float | str) -> float:
    """Millicores in `value`: "250m", "0.5" and 1 (cores) as Kubernetes writes them."""
    if isinstance(value, bool):
        raise ValueError("expected CPU such as '250m' or 0.5, not a boolean")  # noqa: TRY004 - pydantic reports ValueError
    if isinstance(value, int | float):
        millicores = float(value) * 1000
    elif isinstance(value, str) and (match := _CPU.match(value)):
        millicores = float(match.group(1)) * (1 if match.group(2) else 1000)
    else:
        raise ValueError(f"{value!r} is not a CPU quantity (e.g. '250m' or 0.5 cores)")
    if millicores <= 0:
        raise ValueError("CPU must be positive")
    return millicores
