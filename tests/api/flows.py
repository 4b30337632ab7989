"""Small graph apps for the API tests, written as Dify DSL so they import like users' files."""

from __future__ import annotations

import yaml


def _doc(name: str, mode: str, nodes: list[dict], edges: list[tuple[str, str]], conversation_variables=()) -> str:
    return yaml.safe_dump({
        "version": "0.3.1", "kind": "app", "app": {"name": name, "mode": mode},
        "workflow": {"features": {}, "environment_variables": [], "conversation_variables": list(conversation_variables),
                     "graph": {"nodes": nodes, "edges": [
                         {"id": f"{s}-{t}", "source": s, "target": t, "sourceHandle": "source",
                          "targetHandle": "target", "type": "custom"} for s, t in edges]}}})


def _node(node_id: str, **data) -> dict:
    return {"id": node_id, "type": "custom", "data": {"title": node_id, **data}}


def code_workflow(name: str, code: str, *, mode: str = "workflow") -> str:
    """start(text) → code(main(text) -> {"result": str}) → end/answer."""
    start = _node("start", type="start", variables=[{"variable": "text", "label": "text", "type": "text-input",
                                                     "required": False, "max_length": 256}])
    node = _node("code", type="code", code_language="python3", code=code,
                 variables=[{"variable": "text", "value_selector": ["start", "text"]}],
                 outputs={"result": {"type": "string", "children": None}})
    if mode == "workflow":
        last = _node("end", type="end", outputs=[{"variable": "result", "value_selector": ["code", "result"]}])
    else:
        last = _node("end", type="answer", answer="{{#code.result#}}")
    return _doc(name, mode, [start, node, last], [("start", "code"), ("code", "end")])


ECHO = "def main(text: str) -> dict:\n    return {'result': 'echo: ' + text}\n"
FAIL = "def main(text: str) -> dict:\n    raise ValueError('the code node failed on purpose')\n"
SLOW = "import time\ndef main(text: str) -> dict:\n    time.sleep(1.6)\n    return {'result': 'slept'}\n"


def iteration_workflow(name: str) -> str:
    """start → code(list) → iteration(template per item) → end: exercises iteration_* events."""
    start = _node("start", type="start", variables=[])
    make = _node("make", type="code", code_language="python3",
                 code="def main() -> dict:\n    return {'items': ['a', 'b']}\n", variables=[],
                 outputs={"items": {"type": "array[string]", "children": None}})
    it = _node("it", type="iteration", iterator_selector=["make", "items"], output_selector=["tpl", "output"],
               output_type="array[string]", start_node_id="it-start", is_parallel=False)
    it_start = {"id": "it-start", "type": "custom-iteration-start", "parentId": "it",
                "data": {"title": "", "type": "iteration-start", "isInIteration": True}}
    tpl = {"id": "tpl", "type": "custom", "parentId": "it",
           "data": {"title": "tpl", "type": "template-transform", "template": "<{{ x }}>", "isInIteration": True,
                    "iteration_id": "it", "variables": [{"variable": "x", "value_selector": ["it", "item"]}]}}
    end = _node("end", type="end", outputs=[{"variable": "out", "value_selector": ["it", "output"]}])
    return _doc(name, "workflow", [start, make, it, it_start, tpl, end],
                [("start", "make"), ("make", "it"), ("it-start", "tpl"), ("it", "end")])
