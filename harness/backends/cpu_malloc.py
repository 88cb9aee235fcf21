"""Keep freed memory in the process on CPU, so torch's large temporaries stop costing page faults.

A prefill chunk of 2,048 tokens allocates tens of MB per layer (the MLP's
2,048 x 3,072 product alone is 25 MB). glibc serves such blocks with mmap and
returns them on free, so every layer of every chunk faults fresh zeroed pages
in again; its adaptive threshold helps only until the heap is trimmed. Raising
the mmap threshold to its maximum (32 MiB on 64-bit) and the trim threshold to
1 GiB lets those blocks come from the heap and be reused. On 64 BFCL
simple_python prompts with the embedded model (96 new tokens, 2 threads),
`generate` took 24.2 s against 27.1 s without it (prefill 10.5 against 13.4 s),
at the same peak RSS (1,748 against 1,763 MB): `bench/eval_throughput.py`.

What the heap keeps must not pile up across calls: blocks of changing sizes
(a multi-turn run's growing prompts) leave free holes a larger block cannot
reuse, and with trimming off those holes stay resident. The hf backend puts a
cache's KV in one block (kv_buffer.allocate), and `release_freed_memory` hands
the heap's free pages back after each `generate` call.

Process-wide and glibc-only: elsewhere (macOS, musl) it does nothing.
"""

from __future__ import annotations

from typing import Any

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit
TRIM_THRESHOLD = 1 << 30


def _glibc(symbol: str) -> Any:
    """`symbol` of the C library when it is glibc's (None elsewhere)."""
    import ctypes
    import ctypes.util

    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), symbol)
    except (OSError, AttributeError):
        return None


def keep_freed_memory() -> bool:
    """Apply the two thresholds; True when glibc took them."""
    import ctypes

    mallopt = _glibc("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def release_freed_memory() -> None:
    """Give the heap's free pages back to the system (glibc's malloc_trim), between calls that keep them."""
    import ctypes

    trim = _glibc("malloc_trim")
    if trim is not None:
        trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
        trim(0)
