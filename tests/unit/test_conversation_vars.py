"""Setting a conversation variable (PUT /v1/conversations/{id}/variables/{var_id}) through the real services and
SQLite: the value is typed and kept, and `updated_at` moves to the time of the update while `created_at` stays."""

import time
from datetime import datetime, timezone

import yaml

CHATFLOW = {
    "version": "0.3.1", "kind": "app",
    "app": {"name": "Notes", "mode": "advanced-chat"},
    "workflow": {
        "conversation_variables": [
            {"id": "v-note", "name": "note", "value_type": "string", "value": "empty", "description": "",
             "selector": ["conversation", "note"]},
            {"id": "v-count", "name": "count", "value_type": "number", "value": 0, "description": "",
             "selector": ["conversation", "count"]},
        ],
        "graph": {
            "nodes": [{"id": "start", "data": {"type": "start", "title": "Start", "variables": []}},
                      {"id": "answer", "data": {"type": "answer", "title": "Answer", "answer": "ok"}}],
            "edges": [{"id": "e", "source": "start", "target": "answer", "sourceHandle": "source",
                       "targetHandle": "target"}],
        },
    },
}


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)  # stored times are naive UTC


def by_name(services, app, conv_id) -> dict[str, dict]:
    return {i["name"]: i for i in services.conversations.variables(app, conv_id, user="alice")[0]}


def test_setting_a_variable_moves_its_updated_at_to_the_update_time(services):
    app = services.dsl.import_text(yaml.safe_dump(CHATFLOW)).app
    list(services.workflows.run(app.id, query="hi", user="alice"))
    [conv] = services.conversations.list(app.id)
    before = by_name(services, app, conv.id)
    assert before["note"]["value"] == "empty" and before["count"]["value"] == "0"

    time.sleep(0.05)
    start = now()
    item = services.conversations.set_variable(app, conv.id, "v-note", "remember milk", user="alice")
    end = now()
    assert item["value"] == "remember milk"
    assert start <= item["updated_at"] <= end, "updated_at is the time of the update"
    assert item["updated_at"] > before["note"]["updated_at"]
    assert item["created_at"] == before["note"]["created_at"] == conv.created_at, "created_at does not move"

    after = by_name(services, app, conv.id)  # read back from SQLite, as GET .../variables does
    assert after["note"]["value"] == "remember milk" and after["note"]["updated_at"] == item["updated_at"]
    assert after["count"]["updated_at"] == before["count"]["updated_at"], "the other variable is untouched"

    time.sleep(0.05)
    again = services.conversations.set_variable(app, conv.id, "v-note", "and bread", user="alice")
    assert again["updated_at"] > item["updated_at"]
    assert by_name(services, app, conv.id)["note"]["updated_at"] == again["updated_at"]
