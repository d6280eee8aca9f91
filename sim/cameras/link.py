"""A camera's network link, which drops in bursts like a real one.

A two-state Markov chain stepped once per observation interval: from *up* the
link fails with probability p, from *down* it recovers with probability q.
Its stationary share of *up* is q / (p + q); choosing p = q (1 − a) / a makes
that share equal the camera's ``availability`` a, and 1 / q is the mean
outage length in intervals. These drops are ordinary network behaviour, not
injected anomalies, so they are not ground truth.
"""

from __future__ import annotations

import numpy as np


class Link:
    def __init__(self, availability: float, mean_outage_steps: float, rng: np.random.Generator) -> None:
        if not 0.0 <= availability <= 1.0:
            raise ValueError(f"availability {availability} is outside [0, 1]")
        if mean_outage_steps < 1.0:
            raise ValueError(f"mean outage of {mean_outage_steps} steps is shorter than one step")
        self.availability = availability
        self.rng = rng
        if availability >= 1.0:
            self.fail, self.recover = 0.0, 1.0
        elif availability <= 0.0:
            self.fail, self.recover = 1.0, 0.0
        else:
            # Capped so that p <= 1; the stationary share stays the availability.
            self.recover = min(1.0 / mean_outage_steps, availability / (1.0 - availability))
            self.fail = self.recover * (1.0 - availability) / availability
        self.up = bool(rng.random() < availability)

    def step(self) -> bool:
        """Advance one interval; True when the link delivers this interval."""
        draw = self.rng.random()
        self.up = draw >= self.fail if self.up else draw < self.recover
        return self.up
