"""Engine overhead per node on trivial nodes, with the run log (trace persistence) on and off."""

import time

import yaml

from studio.app import build
from studio.core.settings import Settings
from studio.workflow.runner import WorkflowRunner
from tests.workflows.graphs import end, graph, node, start, template

CHAIN = 1000
FAN = 100


def chain_graph(n: int) -> dict:
    nodes, edges, prev = [start()], [], "start"
    for i in range(n):
        if i % 2:
            nodes.append(node(f"n{i}", "assigner", version="2", items=[
                {"variable_selector": ["conversation", "c"], "input_type": "constant", "operation": "+=", "value": 1}]))
        else:
            nodes.append(template(f"n{i}", "{{ x }}", x=["start", "sys.workflow_run_id"]))
        edges.append((prev, f"n{i}"))
        prev = f"n{i}"
    nodes.append(end(r=["conversation", "c"]))
    edges.append((prev, "end"))
    return graph(nodes, edges)


def fan_graph(n: int) -> dict:
    nodes = [start()] + [template(f"b{i}", "b") for i in range(n)]
    nodes.append(node("agg", "variable-aggregator", variables=[[f"b{i}", "output"] for i in range(n)]))
    nodes.append(end(r=["agg", "output"]))
    edges = [("start", f"b{i}") for i in range(n)] + [(f"b{i}", "agg") for i in range(n)] + [("agg", "end")]
    return graph(nodes, edges)


def dsl(g: dict, name: str) -> str:
    return yaml.safe_dump({"version": "0.5.0", "kind": "app", "app": {"name": name, "mode": "workflow"},
                           "workflow": {"graph": g, "conversation_variables": [
                               {"name": "c", "value": 0, "value_type": "number"}]}})


def best_of(fn, repeat=5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fin = fn()
        times.append(time.perf_counter() - t)
        assert fin.status.value == "succeeded", fin.error
    return min(times)


def test_engine_overhead_per_node(tmp_path, report):
    services = build(Settings(home=tmp_path))
    services.settings.set("workflow_max_steps", 5000)
    try:
        chain = services.dsl.import_text(dsl(chain_graph(CHAIN), "chain")).app
        fan = services.dsl.import_text(dsl(fan_graph(FAN), "fan")).app
        persisted_chain = best_of(lambda: list(services.workflows.run(chain.id))[-1])
        persisted_fan = best_of(lambda: list(services.workflows.run(fan.id))[-1])
        run = services.workflows.runs(chain.id)[0]
        assert len(services.workflows.node_runs(run.id)) == CHAIN + 2, "every node's trace is stored"
    finally:
        services.close()
    runner = WorkflowRunner()
    runner.limits.max_steps = 5000
    try:
        g1, g2 = runner.validate(chain_graph(CHAIN)), runner.validate(fan_graph(FAN))
        bare_chain = best_of(lambda: list(runner.run(g1, conversation={"c": 0}))[-1])
        bare_fan = best_of(lambda: list(runner.run(g2))[-1])
    finally:
        runner.close()
    for label, seconds, nodes in [("chain of 1,000 template/assigner nodes", persisted_chain, CHAIN + 2),
                                  ("fan-out of 100 parallel branches", persisted_fan, FAN + 3)]:
        report(f"{label:40s} with run log: {seconds * 1000:7.1f} ms total, {seconds / nodes * 1e6:6.1f} µs/node")
    for label, seconds, nodes in [("chain (engine only, no run log)", bare_chain, CHAIN + 2),
                                  ("fan-out (engine only, no run log)", bare_fan, FAN + 3)]:
        report(f"{label:40s}               {seconds * 1000:7.1f} ms total, {seconds / nodes * 1e6:6.1f} µs/node")
