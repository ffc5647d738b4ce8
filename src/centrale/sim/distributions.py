"""Probability distributions for handle times, patience, wrap-up and answer delays.

Each is a small object with ``sample(rng) -> float`` (seconds) and ``mean``. The random generator
is passed in, so a run is reproducible from its seed. The draws use ``rng.random()`` directly (the
inverse-transform or Box–Muller form), which keeps them cheap once mypyc compiles this module.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


class Distribution:
    """A distribution of durations in seconds."""

    mean: float

    def sample(self, rng: random.Random) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean:g})"


class Exponential(Distribution):
    def __init__(self, mean: float) -> None:
        self.mean = mean

    def sample(self, rng: random.Random) -> float:
        # Inverse transform; 1 - u lies in (0, 1], so the log is finite.
        return -math.log(1.0 - rng.random()) * self.mean


class Fixed(Distribution):
    def __init__(self, mean: float) -> None:
        self.mean = mean

    def sample(self, rng: random.Random) -> float:
        return self.mean


class LogNormal(Distribution):
    """Parameterised by its own mean and standard deviation (not those of the underlying normal)."""

    def __init__(self, mean: float, sd: float) -> None:
        self.mean = mean
        self.sd = sd
        var = math.log1p((sd / mean) ** 2)
        self.mu = math.log(mean) - var / 2
        self.sigma = math.sqrt(var)

    def sample(self, rng: random.Random) -> float:
        return math.exp(rng.gauss(self.mu, self.sigma))


class Uniform(Distribution):
    def __init__(self, low: float, high: float) -> None:
        self.low = low
        self.high = high
        self.mean = (low + high) / 2

    def sample(self, rng: random.Random) -> float:
        return self.low + (self.high - self.low) * rng.random()


class Empirical(Distribution):
    """Draws one of the observed values, each equally likely."""

    def __init__(self, values: Sequence[float]) -> None:
        if not values:
            raise ValueError("an empirical distribution needs at least one value")
        self.values = [float(v) for v in values]
        self.mean = sum(self.values) / len(self.values)

    def sample(self, rng: random.Random) -> float:
        return self.values[int(rng.random() * len(self.values))]


class Never(Distribution):
    """Infinite patience: the customer never abandons."""

    def __init__(self) -> None:
        self.mean = math.inf

    def sample(self, rng: random.Random) -> float:
        return math.inf


def empirical(values: Sequence[float]) -> Empirical:
    return Empirical(values)
