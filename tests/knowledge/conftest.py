"""Fixtures for the knowledge tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.knowledge.support import CORPUS, corpus_files


@pytest.fixture(scope="session")
def corpus() -> list[Path]:
    files = corpus_files()
    assert len(files) >= 600, f"the shared corpus is not at {CORPUS}"
    return files
