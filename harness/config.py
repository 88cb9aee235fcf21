"""Where the harness keeps what it downloads and converts, and the environment variables that move it.

One home for the cache root: the fetched benchmark data (`<root>/data`), the
converted embedded model (`<root>/models`), the TRL field snapshot's cache and
built wheels all live below it, so one variable moves them all.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "REST_CACHE_DIR"


def cache_root() -> Path:
    """Root of everything the harness caches (`$REST_CACHE_DIR`, default ~/.cache/rest-harness)."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "rest-harness")
