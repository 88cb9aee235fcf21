"""Decode failures, shared by every BFCL output decoder.

`DecodeError` marks text the official decoder also rejects; its subclass
`UnsafeExpression` marks text we refuse because decoding it would mean
evaluating code (BFCL `eval`s it), so such divergences can be counted apart.
"""

from __future__ import annotations


class DecodeError(ValueError):
    """The output cannot be decoded into function calls."""


class UnsafeExpression(DecodeError):
    """The output holds an expression we refuse to evaluate (BFCL would `eval` it)."""


class InputTooLarge(DecodeError):
    """The text is longer or nested deeper than the decoders accept (see `decode_limits`).

    BFCL would try to parse it, and may exhaust memory or crash; the limits
    are far beyond any real output, so this too is counted apart.
    """
