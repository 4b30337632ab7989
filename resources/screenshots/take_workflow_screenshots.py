"""Takes the graph-app screenshots: run it under a display, e.g. `xvfb-run -a -s "-screen 0 1400x900x24"
.venv/bin/python resources/screenshots/take_workflow_screenshots.py`. It imports a demo workflow and chatflow
through the Studio page's DSL importer, runs them, and grabs the window (workflow-run.png here, the rest into
--extra, /tmp by default, as workflow-*.png)."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from PySide6.QtWidgets import QMessageBox


HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from take_screenshots import in_window, pause, wait  # noqa: E402 - the same event-loop helpers as the README shots


def node(node_id: str, x: int, y: int, **data) -> dict:
    return {"id": node_id, "type": "custom", "position": {"x": x, "y": y}, "data": data}


def edge(source: str, target: str, handle: str = "source") -> dict:
    return {"id": f"{source}-{handle}-{target}", "source": source, "sourceHandle": handle, "target": target,
            "targetHandle": "target", "type": "custom"}


def planner_nodes() -> list[dict]:
    """Start → LLM → Code → IF/ELSE → two Templates → Variable Aggregator → End, as Dify would export them."""
    words = "def main(text: str) -> dict:\n    return {'words': len(text.split())}\n"
    return [
        node("start", 0, 0, type="start", title="Start", variables=[
            {"variable": "destination", "label": "Destination", "type": "text-input", "required": True},
            {"variable": "days", "label": "Days", "type": "number", "required": True}]),
        node("llm", 300, 0, type="llm", title="Plan the trip", context={"enabled": False, "variable_selector": []},
             model={"provider": "", "name": "", "mode": "chat",
                    "completion_params": {"temperature": 0, "max_tokens": 160}},
             prompt_template=[{"role": "system", "text": "You are a helpful assistant."},
                              {"role": "user", "text": "What should a tourist do in {{#start.destination#}} over "
                                                       "{{#start.days#}} days? Answer in three short sentences."}]),
        node("count", 600, 0, type="code", title="Count words", code_language="python3", code=words,
             variables=[{"variable": "text", "value_selector": ["llm", "text"], "value_type": "string"}],
             outputs={"words": {"type": "number", "children": None}}),
        node("check", 900, 0, type="if-else", title="Long plan?", cases=[{
            "case_id": "true", "logical_operator": "and", "conditions": [{
                "id": "c1", "varType": "number", "variable_selector": ["count", "words"],
                "comparison_operator": ">", "value": "20"}]}]),
        node("long", 1200, -80, type="template-transform", title="Detailed summary",
             template="A detailed plan for {{ place }} ({{ n }} words).",
             variables=[{"variable": "place", "value_selector": ["start", "destination"]},
                        {"variable": "n", "value_selector": ["count", "words"]}]),
        node("short", 1200, 80, type="template-transform", title="Quick summary",
             template="A quick plan for {{ place }}.",
             variables=[{"variable": "place", "value_selector": ["start", "destination"]}]),
        node("merge", 1500, 0, type="variable-aggregator", title="Summary", output_type="string",
             variables=[["long", "output"], ["short", "output"]]),
        node("end", 1800, 0, type="end", title="End", outputs=[
            {"variable": "plan", "value_selector": ["llm", "text"], "value_type": "string"},
            {"variable": "summary", "value_selector": ["merge", "output"], "value_type": "string"},
            {"variable": "words", "value_selector": ["count", "words"], "value_type": "number"}]),
    ]


def trip_planner() -> str:
    nodes = planner_nodes()
    edges = [edge("start", "llm"), edge("llm", "count"), edge("count", "check"), edge("check", "long", "true"),
             edge("check", "short", "false"), edge("long", "merge"), edge("short", "merge"), edge("merge", "end")]
    dsl = {"app": {"name": "Trip planner", "mode": "workflow", "icon": "🧭", "icon_background": "#E0F2FE",
                   "description": "Plans a short trip, counts its words and summarises it."},
           "kind": "app", "version": "0.5.0",
           "workflow": {"graph": {"nodes": nodes, "edges": edges}, "features": {},
                        "environment_variables": [], "conversation_variables": []}}
    return yaml.safe_dump(dsl, sort_keys=False, allow_unicode=True)


def echo_chatflow() -> str:
    dsl = {"app": {"name": "Echo chat", "mode": "advanced-chat", "icon": "💬", "icon_background": "#D1FADF",
                   "description": "Repeats what you say, keeping it in a conversation variable."},
           "kind": "app", "version": "0.5.0",
           "workflow": {"features": {}, "environment_variables": [],
                        "conversation_variables": [{"name": "last", "value_type": "string", "value": ""}],
                        "graph": {"nodes": [
                            node("start", 0, 0, type="start", title="Start", variables=[]),
                            node("keep", 300, 0, type="assigner", title="Remember", version="2", items=[{
                                "variable_selector": ["conversation", "last"], "input_type": "variable",
                                "operation": "over-write", "value": ["sys", "query"]}]),
                            node("answer", 600, 0, type="answer", title="Answer",
                                 answer="You said: {{#conversation.last#}}")],
                            "edges": [edge("start", "keep"), edge("keep", "answer")]}}}
    return yaml.safe_dump(dsl, sort_keys=False, allow_unicode=True)


def storyteller() -> str:
    """One LLM node with room for a long answer: something to watch running, and to stop."""
    dsl = yaml.safe_load(trip_planner())
    graph = dsl["workflow"]["graph"]
    llm = next(n for n in graph["nodes"] if n["id"] == "llm")
    llm["data"]["title"] = "Tell the story"
    llm["data"]["model"]["completion_params"].update(max_tokens=1500, temperature=0.7)
    llm["data"]["prompt_template"][1]["text"] = "Write a very long story about a dragon in {{#start.destination#}}."
    end = next(n for n in graph["nodes"] if n["id"] == "end")
    end["data"]["outputs"] = [{"variable": "story", "value_selector": ["llm", "text"], "value_type": "string"}]
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] in ("start", "llm", "end")]
    graph["edges"] = [edge("start", "llm"), edge("llm", "end")]
    dsl["app"].update(name="Storyteller", icon="🐉", icon_background="#FCE7F6", description="Tells long stories.")
    return yaml.safe_dump(dsl, sort_keys=False, allow_unicode=True)


def import_dsl(window, text: str):
    importer, done = window.studio_page.importer, []
    importer.imported.connect(done.append)
    importer.import_text(text)
    wait(lambda: done, 30)
    importer.imported.disconnect(done.append)
    if isinstance(importer.dialog, QMessageBox):
        importer.dialog.accept()
    return done[0].app


def shoot(window, path: Path) -> None:
    pause(250)
    window.grab().save(str(path))


def main() -> int:
    return in_window(lambda window, services, args, home, _: take(window, services, args), __doc__,
                     HERE / "workflow-run.png", extra=True, settle_ms=0)


def take(window, services, args) -> None:
    planner = import_dsl(window, trip_planner())
    import_dsl(window, echo_chatflow())
    shoot(window, args.extra / "workflow-studio-page.png")
    take_workflow(window, planner, args)
    take_chat_and_stop(window, services, args)


def take_workflow(window, planner, args) -> None:
    page = window.studio_page
    broken = page.importer
    broken.import_text("app:\n  name: broken\n  mode: [workflow\n")
    wait(lambda: isinstance(broken.dialog, QMessageBox) and broken.dialog.isVisible(), 30)
    pause(200)
    broken.dialog.grab().save(str(args.extra / "workflow-import-error.png"))
    broken.dialog.accept()
    wp = page.open_app(planner)
    finished = []
    wp.debug.run_finished.connect(finished.append)
    wp.debug.run({"destination": "Lisbon", "days": "3"})
    wait(lambda: finished)
    shoot(window, args.out)
    wp.inspect_node("count")
    shoot(window, args.extra / "workflow-trace.png")
    wait(lambda: wp.history.runs)
    wp.debug.run({"destination": "Kyoto", "days": "1"})
    wait(lambda: len(finished) == 2 and len(wp.history.runs) == 2)
    wp.history.table.clearSelection()
    wp.history.table.selectRow(1)
    wait(lambda: wp.debug.result.facts.text().endswith(")") or "run of" in wp.debug.result.facts.text(), 10)
    shoot(window, args.extra / "workflow-history.png")


def take_chat_and_stop(window, services, args) -> None:
    page = window.studio_page
    chat = page.open_app(next(a for a in services.apps.list() if a.name == "Echo chat"))
    done = []
    chat.debug.run_finished.connect(done.append)
    for n, text in enumerate(("hi", "how are you?"), 1):
        chat.debug.send(text)
        wait(lambda n=n: len(done) == n, 30)
    shoot(window, args.extra / "workflow-chatflow.png")
    story = page.open_app(import_dsl(window, storyteller()))
    stopped = []
    story.debug.run_finished.connect(stopped.append)
    story.debug.run({"destination": "Lisbon", "days": "1"})
    wait(lambda: len(story.debug.result.text.toPlainText()) > 300)
    window.grab().save(str(args.extra / "workflow-running.png"))
    story.debug.stop()
    wait(lambda: stopped, 30)
    shoot(window, args.extra / "workflow-stopped.png")


if __name__ == "__main__":
    sys.exit(main())
