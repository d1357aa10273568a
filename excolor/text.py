"""How numbers and lists read in every caption, verdict and table: one formatter each, so a quantity is written
the same way on every page (two significant digits, a true minus sign, compact exponents)."""

from __future__ import annotations

import math
from collections.abc import Sequence

MINUS = "−"  # U+2212: the typographic minus, as a reader expects in prose


def fmt(x: float | None) -> str:
    """Two significant digits: 0.16, 0.012, 0.0011, 1.5e-5, −3.1e-4, 2.4e3; 'n/a' for a missing or non-finite value.

    Plain decimals from 0.001 up to 1000 (the range of this app's errors and ratios), compact scientific
    notation outside it (no '1.5e-05').
    """
    if x is None or not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    a = abs(float(x))
    if 0.001 <= a < 1000:
        text = f"{a:.2g}"
    else:
        mantissa, exponent = f"{a:.1e}".split("e")
        text = f"{mantissa}e{int(exponent)}"
    return (MINUS if x < 0 else "") + text


def fmt_signed(x: float | None) -> str:
    """fmt with a '+' on positive values: +0.12, −0.03."""
    if x is not None and math.isfinite(x) and x > 0:
        return "+" + fmt(x)
    return fmt(x)


def pct(x: float | None) -> str:
    """The size of a percentage, without its sign: 38%, 4.2%; 'n/a' when missing."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{abs(x):.0f}%" if abs(x) >= 10 else f"{abs(x):.1f}%"


def degrees(x: float) -> str:
    """An angle to a tenth of a degree, '13.5°': one rounding of an angle on every page."""
    return f"{x:.1f}°" if math.isfinite(x) else "n/a"


def join(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'; '' for no items."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def capitalized(text: str) -> str:
    """The first letter upper-case, the rest as written (str.capitalize would lower 'RGB')."""
    return text[:1].upper() + text[1:]


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st."""
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"
