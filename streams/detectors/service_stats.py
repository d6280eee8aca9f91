"""Tail probabilities for counts whose expected rate is itself uncertain.

A rate learned from a few hours of one office is not known exactly. With a
Gamma(alpha, beta) belief about the rate, the count in an exposure of E hours
is negative binomial with mean ``alpha * E / beta`` and shape ``alpha``: a
weak belief (small alpha) gives wide tails, so an office the detector has
barely seen cannot look "a million to one" odd. With a large shape the
distribution tends to Poisson. Tails are summed from their largest term
outward, which stays accurate far below 1e-12 where ``1 - cdf`` cancels.
"""

from __future__ import annotations

import math

_MAX_TERMS = 100_000
_POISSON_SHAPE = 1e9


def nb_logpmf(x: int, mean: float, shape: float) -> float:
    """``log P(X = x)`` for a negative binomial of ``mean`` and ``shape`` (Poisson when shape is huge)."""
    if mean <= 0.0:
        return 0.0 if x == 0 else -math.inf
    if shape >= _POISSON_SHAPE:
        return -mean + x * math.log(mean) - math.lgamma(x + 1)
    log_q = math.log(shape / (shape + mean))
    log_p = math.log(mean / (shape + mean))
    return math.lgamma(x + shape) - math.lgamma(shape) - math.lgamma(x + 1) + shape * log_q + x * log_p


def _ratio(x: int, mean: float, shape: float) -> float:
    """``P(X = x + 1) / P(X = x)``."""
    if shape >= _POISSON_SHAPE:
        return mean / (x + 1)
    return (x + shape) / (x + 1) * mean / (shape + mean)


def nb_sf(k: int, mean: float, shape: float) -> float:
    """``P(X >= k)``."""
    if k <= 0:
        return 1.0
    if mean <= 0.0:
        return 0.0
    if k <= mean:
        return max(0.0, 1.0 - nb_cdf(k - 1, mean, shape))
    term = math.exp(nb_logpmf(k, mean, shape))
    total, x = 0.0, k
    while term > 0.0 and x < k + _MAX_TERMS:
        total += term
        if term <= total * 1e-15:
            break
        term *= _ratio(x, mean, shape)
        x += 1
    return min(1.0, total)


def nb_cdf(k: int, mean: float, shape: float) -> float:
    """``P(X <= k)``."""
    if k < 0:
        return 0.0
    if mean <= 0.0:
        return 1.0
    if k > mean:
        return max(0.0, 1.0 - nb_sf(k + 1, mean, shape))
    term = math.exp(nb_logpmf(k, mean, shape))
    total = 0.0
    for x in range(k, -1, -1):
        total += term
        if term <= total * 1e-15 or x == 0:
            break
        term /= _ratio(x - 1, mean, shape)
    return min(1.0, total)


def upper_threshold(mean: float, shape: float, level: float) -> int:
    """The smallest count ``k >= 1`` with ``P(X >= k) < level``."""
    high = max(1, math.ceil(mean))
    while nb_sf(high, mean, shape) >= level:
        high *= 2
    low = 0
    while high - low > 1:
        middle = (low + high) // 2
        if nb_sf(middle, mean, shape) < level:
            high = middle
        else:
            low = middle
    return high


def lower_threshold(mean: float, shape: float, level: float) -> int:
    """The largest count ``k`` with ``P(X <= k) < level`` (-1 when even zero is not improbable)."""
    low, high = -1, math.floor(mean) + 1
    if nb_cdf(high - 1, mean, shape) < level:
        return high - 1
    while high - low > 1:
        middle = (low + high) // 2
        if nb_cdf(middle, mean, shape) < level:
            low = middle
        else:
            high = middle
    return low


def binom_sf(k: int, n: int, p: float) -> float:
    """``P(X >= k)`` for ``X ~ Binomial(n, p)``, summed from ``k`` up."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_term = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p)
    log_term += (n - k) * math.log1p(-p)
    term, total = math.exp(log_term), 0.0
    odds = p / (1.0 - p)
    for x in range(k, n + 1):
        total += term
        if term <= total * 1e-15:
            break
        term *= (n - x) / (x + 1) * odds
    return min(1.0, total)
