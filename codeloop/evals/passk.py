"""The unbiased pass@k estimator (Chen et al., 2021), in its numerically stable form."""

from __future__ import annotations

import math


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of ``k`` samples drawn from ``n`` (``c`` correct) passes.

    Computes ``1 - C(n - c, k) / C(n, k)`` as a running product, which stays exact-ish for
    large ``n`` where the binomials overflow.

    Raises:
        ValueError: unless ``0 <= c <= n`` and ``1 <= k <= n``.
    """
    if not (0 <= c <= n) or not (1 <= k <= n):
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):
        product *= 1.0 - k / i
    return 1.0 - product


def mean(values: list[float]) -> float:
    """The mean, 0.0 for nothing (a run with no tasks scores nothing)."""
    return math.fsum(values) / len(values) if values else 0.0
