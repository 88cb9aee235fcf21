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


def sibling_data(dataset: str) -> Path:
    """`../shared/data/<dataset>` beside the checkout: where development and CI checkouts keep the test data.

    The last place data lookups try (after their environment variable and the fetch cache); a user's clone
    has no such folder, and the lookups then say how to fetch the data.
    """
    return Path(__file__).resolve().parents[2] / "shared" / "data" / dataset
