"""Fixtures of the Loire tests: the seed's organisations in the world's Loire tenant, a fixed clock."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.plugins.loire.support import PARIS, LoireEnv, build_env


@pytest.fixture
def clock():
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=PARIS), tick=False) as traveller:
        yield traveller


@pytest.fixture
def env(clock, world, app_ctx) -> LoireEnv:
    yield from build_env(world)
