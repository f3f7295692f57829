"""Small helpers the evaluation and benchmark scripts share for the figures they print."""

from __future__ import annotations

import numpy as np


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile rounded to milliseconds, or None when there is nothing to measure."""
    return round(float(np.percentile(values, q)), 3) if values else None
