"""Benchmarks record their numbers here; `make bench` prints them at the end."""

import pytest

RESULTS: list[str] = []


@pytest.fixture
def report():
    return RESULTS.append


def pytest_terminal_summary(terminalreporter):
    if RESULTS:
        terminalreporter.section("benchmark results")
        for line in RESULTS:
            terminalreporter.write_line(line)
