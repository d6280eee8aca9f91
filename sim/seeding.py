"""Independent, reproducible random streams per feed and entity.

Each entity draws from its own generator, derived from the run seed and the
entity's name, so adding a camera or reordering a loop never changes another
entity's events.
"""

from __future__ import annotations

import hashlib

import numpy as np


def entity_rng(seed: int, *names: str) -> np.random.Generator:
    """A generator that depends only on ``seed`` and the given names."""
    digest = hashlib.blake2b("\x1f".join(names).encode(), digest_size=8).digest()
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, int.from_bytes(digest, "big")])))
