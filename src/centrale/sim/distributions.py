"""Probability distributions for handle times, patience, wrap-up and answer delays.

Each is a small object with ``sample(rng) -> float`` (seconds) and ``mean``. The random generator
is passed in, so a run is reproducible from its seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass


class Distribution:
    mean: float

    def sample(self, rng: random.Random) -> float:
        raise NotImplementedError


@dataclass(frozen=True)
class Exponential(Distribution):
    mean: float

    def sample(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mean) if self.mean > 0 else 0.0


@dataclass(frozen=True)
class Fixed(Distribution):
    mean: float

    def sample(self, rng: random.Random) -> float:
        return self.mean


@dataclass(frozen=True)
class LogNormal(Distribution):
    """Parameterised by its own mean and standard deviation (not those of the underlying normal)."""

    mean: float
    sd: float

    @property
    def mu_sigma(self) -> tuple[float, float]:
        var = math.log1p((self.sd / self.mean) ** 2)
        return math.log(self.mean) - var / 2, math.sqrt(var)

    def sample(self, rng: random.Random) -> float:
        mu, sigma = self.mu_sigma
        return rng.lognormvariate(mu, sigma)


@dataclass(frozen=True)
class Uniform(Distribution):
    low: float
    high: float

    @property
    def mean(self) -> float:  # type: ignore[override]
        return (self.low + self.high) / 2

    def sample(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)


@dataclass(frozen=True)
class Empirical(Distribution):
    """Draws one of the observed values, each equally likely."""

    values: tuple[float, ...]

    @property
    def mean(self) -> float:  # type: ignore[override]
        return sum(self.values) / len(self.values)

    def sample(self, rng: random.Random) -> float:
        return self.values[int(rng.random() * len(self.values))]


@dataclass(frozen=True)
class Never(Distribution):
    """Infinite patience: the customer never abandons."""

    mean: float = math.inf

    def sample(self, rng: random.Random) -> float:
        return math.inf


def empirical(values: Sequence[float]) -> Empirical:
    return Empirical(tuple(float(v) for v in values))
