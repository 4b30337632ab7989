"""Shared fixtures: every test gets its own Studio home folder with a real SQLite file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "studio-home"
    monkeypatch.setenv("STUDIO_HOME", str(path))
    return path


@pytest.fixture
def services(home):
    from studio.app import build
    from studio.core.settings import Settings

    svc = build(Settings(home=home))
    yield svc
    svc.close()
