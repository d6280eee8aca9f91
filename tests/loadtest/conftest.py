"""A small content pool shared by the load-test tests (field reports and service events: quick to generate)."""

from __future__ import annotations

from pathlib import Path

import pytest

from iocsim.loadtest.pool import Pool, PoolSource, generate, save


@pytest.fixture(scope="session")
def small_pool() -> Pool:
    return generate(PoolSource(scenario="services", feeds=("incidents", "services"), max_events=1500))


@pytest.fixture(scope="session")
def recording(small_pool: Pool, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("load") / "content.npz"
    save(small_pool, path)
    return path
