"""Parsing numbers from text exactly (Decimal), shared by imports and custom fields."""

from __future__ import annotations

import functools
import re
from decimal import Context, Decimal, Inexact, InvalidOperation, localcontext
from typing import Any

# Currency marks and spaces go; a comma goes only as a thousands separator (1,234.56), never as a decimal comma.
NUMBER_NOISE = re.compile(r"[\s$¥￥€£]|(?<=\d),(?=\d{3}(\D|$))")


@functools.lru_cache(maxsize=32)
def quantum(places: int) -> Decimal:
    """The Decimal with ``places`` decimal places to quantize to (0.01 for 2)."""
    return Decimal(1).scaleb(-places)


_EXACT = Context(prec=120, traps=[Inexact, InvalidOperation])


def _factor(multiply: Any) -> Decimal:
    """A mapping's ``multiply`` as a Decimal, parsed once per value (it is the same for every row)."""
    try:
        return _factors(multiply)
    except TypeError:  # unhashable
        return parse_decimal(multiply)


@functools.lru_cache(maxsize=256)
def _factors(multiply: Any) -> Decimal:
    return parse_decimal(multiply)


def parse_decimal(raw: Any, places: int | None = None, multiply: Any = None) -> Decimal:
    """``raw`` as an exact Decimal (optionally times ``multiply``, with at most ``places`` decimals).

    Raises ValueError with the reason. Arithmetic is exact whatever the number of digits: nothing is
    rounded silently to the default 28 digits.
    """
    kind = type(raw)
    if places is None and (kind is int or (kind is Decimal and raw.is_finite())):
        # Numbers a database hands over (integers, numerics): no text to clean, no context to set up.
        number = Decimal(raw) if kind is int else raw
        if multiply is None:
            return number
        try:
            return _EXACT.multiply(number, _factor(multiply))
        except Inexact:  # more than _EXACT's digits: the general path below widens the precision
            pass
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a number")
    text = NUMBER_NOISE.sub("", str(raw)) if not isinstance(raw, int | float | Decimal) else str(raw)
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"{raw!r} is not a number") from exc
    if not number.is_finite():
        raise ValueError(f"{raw!r} is not a finite number")
    with localcontext() as ctx:
        ctx.prec = max(28, len(number.as_tuple().digits) + 40)
        ctx.traps[Inexact] = True
        if multiply is not None:
            number *= _factor(multiply)
        if places is not None:
            try:
                number = number.quantize(quantum(places))
            except Inexact:
                raise ValueError(f"{raw!r} has more than {places} decimal places") from None
    return number


class AmountError(ValueError):
    """A typed money amount that cannot be taken; ``problem`` says why (each caller words it for its reader):
    ``number`` (not a number), ``negative`` (below 0, or not finite), ``places`` (more than two decimals),
    ``large`` (10^16 or more)."""

    def __init__(self, problem: str, value: Any) -> None:
        super().__init__(f"{value!r}: {problem}")
        self.problem = problem


def parse_amount(value: Any) -> Decimal:
    """A money amount a person typed (a call, an adjustment, a quota): commas ignored, 0 or more, at most two
    decimals, below 10^16; returned as typed (not quantized). Raises AmountError."""
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise AmountError("number", value) from None
    if not number.is_finite() or number < 0:
        raise AmountError("negative", value)
    if number != number.quantize(Decimal("0.01")):
        raise AmountError("places", value)
    if number >= Decimal(10) ** 16:
        raise AmountError("large", value)
    return number
