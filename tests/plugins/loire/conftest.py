"""Fixtures of the Loire tests: the seed's organisations in the world's Loire tenant, under the
fixed clock of tests/conftest.py."""

from __future__ import annotations

import pytest

from tests.plugins.loire.support import LoireEnv, build_env


@pytest.fixture
def env(clock, world, app_ctx) -> LoireEnv:
    yield from build_env(world)
