"""Argument checks that keep one environment call from computing for minutes or filling memory.

The environments are bfcl-eval's own classes, and a few of their methods turn
a short literal into an enormous computation inside C code, where no timer can
interrupt it (big-integer arithmetic holds the GIL): `round(5, -10**9)` builds
10**(10**9); `power` with a 1,000-digit base and exponent 10,000 builds a
ten-million-digit integer (about 10 s); mpmath and decimal take `precision` as
a digit count. So these are checked before the call, from the literal
arguments alone, and refused with a message the model sees as an execution
error. Every limit is far beyond what a real call uses (the ground truth's
precisions are 2 to 10, its exponents below 10) and beyond what BFCL could
render anyway: an integer result over 4,300 digits already ends in Python's
"Exceeds the limit" error string, so refusing a larger one never changes a
verdict. The survey of bfcl-eval's environments (which method can explode,
which cannot) is in docs/security.md.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import lru_cache
from typing import Any

# An int argument wider than any decimal literal Python parses (4,300 digits, about 14,300 bits):
# only hex/octal/binary text can spell one, and nothing real needs it.
MAX_INT_BITS = 16_384
MAX_POWER_EXPONENT = 10_000
# power(base, exponent) with int base: bits of the result, estimated as bits(base) * exponent.
# 100,000 bits (30,000 digits) takes about 2 ms and is already 7x past what str() will render.
MAX_POWER_RESULT_BITS = 100_000
# round_number: int rounding to -n places builds 10**n.
MAX_DECIMAL_PLACES = 10_000
# logarithm (mpmath dps) and square_root (decimal prec): 1,000 digits cost about 6 ms with the largest int.
MAX_PRECISION = 1_000


_RULED_NAMES = frozenset({"power", "round_number"})


class ArgumentRefused(ValueError):
    """A call whose literal arguments would make the environment compute without bound."""


def check_arguments(name: str, method: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> None:
    """Raise `ArgumentRefused` for a call that would hang or explode; return None for every safe call."""
    _check_int_sizes(args)
    _check_int_sizes(list(kwargs.values()))
    if name not in _RULED_NAMES and "precision" not in _parameters(method):
        return  # most calls: nothing more to check, and binding costs more than the call
    try:
        bound = _bind(method, args, kwargs)
    except TypeError:
        return  # the call itself raises the TypeError BFCL reports
    if name == "power":
        _check_power(bound.get("base"), bound.get("exponent"))
    if name == "round_number":
        places = bound.get("decimal_places")
        if _is_real(places) and abs(places) > MAX_DECIMAL_PLACES:
            raise ArgumentRefused(f"decimal_places out of range (limit {MAX_DECIMAL_PLACES} in absolute value)")
    precision = bound.get("precision")
    if _is_real(precision) and precision > MAX_PRECISION:  # mpmath accepts a float dps too
        raise ArgumentRefused(f"precision too large (limit {MAX_PRECISION})")


def _bind(method: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Arguments by parameter name; a bound method's signature is cached (inspect.signature costs ~15 us)."""
    function = getattr(method, "__func__", None)
    if function is None:
        return dict(inspect.signature(method).bind(*args, **kwargs).arguments)
    return dict(_signature(function).bind(method.__self__, *args, **kwargs).arguments)


@lru_cache(maxsize=1024)
def _signature(function: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(function)


def _parameters(method: Callable[..., Any]) -> Any:
    function = getattr(method, "__func__", None)
    if function is None:
        return inspect.signature(method).parameters
    return _signature(function).parameters


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float))


def _check_power(base: Any, exponent: Any) -> None:
    if _is_real(exponent) and abs(exponent) > MAX_POWER_EXPONENT:
        raise ArgumentRefused(f"exponent too large (limit {MAX_POWER_EXPONENT})")
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        bits = abs(base).bit_length() * exponent
        if bits > MAX_POWER_RESULT_BITS:
            raise ArgumentRefused(f"result too large (about {bits} bits; limit {MAX_POWER_RESULT_BITS})")


def _check_int_sizes(values: list[Any]) -> None:
    """Refuse any int, at any depth of a literal container, wider than MAX_INT_BITS (iterative walk)."""
    stack = list(values)
    while stack:
        value = stack.pop()
        if isinstance(value, int):
            if value.bit_length() > MAX_INT_BITS:
                raise ArgumentRefused(f"integer argument too large ({value.bit_length()} bits; limit {MAX_INT_BITS})")
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, (list, tuple, set, frozenset)):
            stack.extend(value)
