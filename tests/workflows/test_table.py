"""The table-driven workflow runner: every case in table.yml runs through the real engine."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from studio.core.workflow import WorkflowFinished
from studio.workflow.runner import WorkflowRunner
from tests.workflows.graphs import trace

HERE = Path(__file__).parent
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "dsl-samples"
CASES = yaml.safe_load((HERE / "table.yml").read_text())


def load(fixture: str) -> dict:
    path = SAMPLES / fixture[len("shared:"):] if fixture.startswith("shared:") else HERE / fixture
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def runner():
    r = WorkflowRunner()
    yield r
    r.close()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(runner, case):
    dsl = load(case["fixture"])
    wf = dsl["workflow"]
    conversation = {v["name"]: v["value"] for v in wf.get("conversation_variables") or []}
    system = {"query": case["query"]} if "query" in case else {}
    events = list(runner.run(wf["graph"], mode=dsl["app"]["mode"], inputs=case.get("inputs", {}), system=system,
                             conversation=conversation))
    finished = events[-1]
    assert isinstance(finished, WorkflowFinished)
    assert finished.status.value == case.get("status", "succeeded"), finished.error
    assert finished.outputs == case["outputs"]
    got = trace(events)
    if "events" in case:
        assert got == case["events"]
    positions = [got.index(e) for e in case.get("order", [])]
    assert positions == sorted(positions), f"out of order: {got}"
    for e in case.get("once", []):
        assert got.count(e) == 1
    for e in case.get("absent", []):
        assert e not in got
