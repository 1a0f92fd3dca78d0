"""Simulated groups shared by the simulator tests (each built once per session)."""

from __future__ import annotations

import pytest
from simhelp import GROUP, Sim, simulate


@pytest.fixture(scope="session")
def android(tmp_path_factory: pytest.TempPathFactory) -> Sim:
    """300 members, 20k messages, Android, 24h, dmy — the realism tests' group."""
    return simulate(tmp_path_factory.mktemp("android"), **GROUP)


@pytest.fixture(scope="session")
def ios(tmp_path_factory: pytest.TempPathFactory) -> Sim:
    """The same community as an iOS export with media (zip), 12h clock, mdy dates."""
    return simulate(
        tmp_path_factory.mktemp("ios"),
        **GROUP,
        layout="ios",
        clock="12h",
        date_order="mdy",
        zip=True,
    )
