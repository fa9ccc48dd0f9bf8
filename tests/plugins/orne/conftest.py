"""Fixtures of the Orne tests: the seed's organisations in the world's Orne tenant, under the
fixed clock of tests/conftest.py."""

from __future__ import annotations

import pytest

from tests.plugins.orne.support import OrneEnv, build_env


@pytest.fixture
def env(clock, world, app_ctx) -> OrneEnv:
    yield from build_env(world)
