"""The service API's views through the real services: conversation and message pages, user scoping, feedback,
conversation variables and workflow logs (Dify semantics)."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from studio.core.errors import NotFoundError, ValidationError
from studio.core.workflow import RunStatus
from studio.store import Store

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "dsl-samples"


@pytest.fixture
def store(home, services):
    """A second connection to the same database, to write rows as another part of Studio would."""
    s = Store(home / "studio.db")
    yield s
    s.close()


def conversations(store, app_id, users):
    return [store.repos.conversations.create(app_id, name=f"c{i}", inputs={}, user=u) for i, u in enumerate(users)]


def ids(items):
    return [i.id for i in items]


def all_pages(services, app_id, user, sort_by, limit=2):
    seen, last, more = [], None, True
    while more:
        page, more = services.conversations.page(app_id, user=user, last_id=last, limit=limit, sort_by=sort_by)
        assert len(page) <= limit and (page or not more)
        seen += page
        last = page[-1].id if page else None
    return seen


def test_conversation_pages_in_every_order_and_per_user(services, store):
    app = services.apps.create("Chat")
    convs = conversations(store, app.id, ["alice", "bob", "alice", "alice", "bob", "alice", "alice"])
    alice = [c for c in convs if c.user == "alice"]
    first, more = services.conversations.page(app.id, user="alice", limit=2)
    assert ids(first) == ids(alice[::-1][:2]) and more
    assert ids(all_pages(services, app.id, "alice", "-updated_at")) == ids(alice[::-1])
    assert ids(all_pages(services, app.id, "alice", "created_at", limit=3)) == ids(alice)
    assert ids(all_pages(services, app.id, None, "-created_at")) == ids(convs[::-1])
    assert ids(all_pages(services, app.id, "bob", "updated_at", limit=5)) == ids([convs[1], convs[4]])
    assert services.conversations.page(app.id, user="carol") == ([], False)
    with pytest.raises(NotFoundError, match="Last Conversation Not Exists."):
        services.conversations.page(app.id, user="alice", last_id=convs[1].id)  # bob's
    with pytest.raises(NotFoundError, match="Last Conversation Not Exists."):
        services.conversations.page(app.id, user=None, last_id="nope")
    with pytest.raises(ValidationError, match="sort_by must be one of"):
        services.conversations.page(app.id, user=None, sort_by="name")
    with pytest.raises(ValidationError, match="limit must be between 1 and 100"):
        services.conversations.page(app.id, user=None, limit=0)


def test_conversations_sharing_a_timestamp_are_paged_once_each(services, store):
    app = services.apps.create("Chat")
    same = datetime(2026, 1, 1, 12, 0, 0)
    convs = [store.repos.conversations.update(c.id, created_at=same)
             for c in conversations(store, app.id, ["u"] * 5)]
    for order in ("created_at", "-created_at"):
        paged = all_pages(services, app.id, "u", order, limit=2)
        assert sorted(ids(paged)) == sorted(ids(convs)) and len(paged) == 5


def test_get_for_scopes_by_app_and_user(services, store):
    app = services.apps.create("Chat")
    other = services.apps.create("Other")
    [conv] = conversations(store, app.id, ["alice"])
    assert services.conversations.get_for(app.id, conv.id, "alice").id == conv.id
    assert services.conversations.get_for(app.id, conv.id, None).id == conv.id
    for app_id, conv_id, user in ((other.id, conv.id, "alice"), (app.id, conv.id, "bob"), (app.id, "nope", None)):
        with pytest.raises(NotFoundError, match="Conversation Not Exists."):
            services.conversations.get_for(app_id, conv_id, user)


def test_message_pages_walk_back_through_history(services, store):
    app = services.apps.create("Chat")
    conv, other = conversations(store, app.id, ["u", "u"])
    msgs = [store.repos.messages.start(conv.id, app.id, query=f"q{i}", inputs={}, model_id="m") for i in range(5)]
    stray = store.repos.messages.start(other.id, app.id, query="x", inputs={}, model_id="m")
    page, more = services.conversations.message_page(conv.id, limit=2)
    assert ids(page) == ids(msgs[3:]) and more  # the newest, oldest first
    page, more = services.conversations.message_page(conv.id, first_id=page[0].id, limit=2)
    assert ids(page) == ids(msgs[1:3]) and more
    page, more = services.conversations.message_page(conv.id, first_id=page[0].id, limit=2)
    assert ids(page) == ids(msgs[:1]) and not more
    assert services.conversations.message_page(conv.id, limit=100) == (services.conversations.messages(conv.id),
                                                                      False)
    assert [m.parent_message_id for m in services.conversations.messages(conv.id)] == [None, *ids(msgs[:4])]
    for bad in ("nope", stray.id):
        with pytest.raises(NotFoundError, match="First Message Not Exists."):
            services.conversations.message_page(conv.id, first_id=bad)


def test_feedback_upsert_revoke_and_listing(services, store):
    app = services.apps.create("Chat")
    other = services.apps.create("Other")
    conv, = conversations(store, app.id, ["alice"])
    m1, m2 = [store.repos.messages.start(conv.id, app.id, query=q, inputs={}, model_id="m") for q in ("a", "b")]
    services.conversations.feedback(app.id, m1.id, "like", user="alice")
    services.conversations.feedback(app.id, m2.id, "like", "nice", user="alice")
    services.conversations.feedback(app.id, m1.id, "dislike", "wrong answer", user="alice")  # replaces the like
    assert services.conversations.feedbacks([m1.id, m2.id, "nope"]) == {
        m1.id: {"rating": "dislike", "content": "wrong answer"}, m2.id: {"rating": "like", "content": "nice"}}
    items = services.conversations.app_feedbacks(app.id)
    assert [i["message_id"] for i in items] == [m2.id, m1.id]  # newest first
    assert items[1] | {"created_at": None, "updated_at": None} == {
        "id": m1.id, "app_id": app.id, "conversation_id": conv.id, "message_id": m1.id, "rating": "dislike",
        "content": "wrong answer", "from_source": "user", "from_end_user_id": "alice", "from_account_id": None,
        "created_at": None, "updated_at": None}
    assert items[1]["updated_at"] > items[1]["created_at"]
    assert [i["message_id"] for i in services.conversations.app_feedbacks(app.id, page=2, limit=1)] == [m1.id]
    services.conversations.feedback(app.id, m1.id, None, user="alice")
    assert set(services.conversations.feedbacks([m1.id, m2.id])) == {m2.id}
    with pytest.raises(ValidationError, match="no feedback to revoke"):
        services.conversations.feedback(app.id, m1.id, None, user="alice")
    with pytest.raises(ValidationError, match="rating must be like, dislike or null"):
        services.conversations.feedback(app.id, m1.id, "love", user="alice")
    for app_id, message_id, user in ((other.id, m1.id, "alice"), (app.id, m1.id, "bob"), (app.id, "nope", "")):
        with pytest.raises(NotFoundError, match="Message Not Exists."):
            services.conversations.feedback(app_id, message_id, "like", user=user)
    services.conversations.delete(conv.id)  # feedback goes with its message
    assert services.conversations.app_feedbacks(app.id) == []


def chatflow_with_variables(services):
    doc = yaml.safe_load((SAMPLES / "test_streaming_conversation_variables.yml").read_text())
    doc["workflow"]["conversation_variables"] += [
        {"id": "v-count", "name": "count", "value_type": "number", "value": 1, "description": "turns",
         "selector": ["conversation", "count"]},
        {"id": "v-tags", "name": "tags", "value_type": "array[string]", "value": ["a"], "description": "",
         "selector": ["conversation", "tags"]},
        {"id": "v-prefs", "name": "prefs", "value_type": "object", "value": {}, "description": "",
         "selector": ["conversation", "prefs"]},
    ]
    return services.dsl.import_text(yaml.safe_dump(doc, allow_unicode=True)).app


def test_conversation_variables_read_and_typed_writes(services):
    app = chatflow_with_variables(services)
    list(services.workflows.run(app.id, query="first", user="alice"))
    [conv] = services.conversations.list(app.id)
    items, more = services.conversations.variables(app, conv.id)
    assert not more and [(i["name"], i["value_type"], i["value"]) for i in items] == [
        ("str", "string", "first"), ("count", "number", "1"), ("tags", "array[string]", '["a"]'),
        ("prefs", "object", "{}")]
    assert items[1]["description"] == "turns" and items[0]["id"] == "e208ec58-4503-48a9-baf8-17aae67e5fa0"
    page, more = services.conversations.variables(app, conv.id, limit=2)
    assert [i["name"] for i in page] == ["str", "count"] and more
    page, more = services.conversations.variables(app, conv.id, last_id="v-count", limit=2)
    assert [i["name"] for i in page] == ["tags", "prefs"] and not more
    assert [i["name"] for i in services.conversations.variables(app, conv.id, variable_name="TAG")[0]] == ["tags"]

    item = services.conversations.set_variable(app, conv.id, "v-tags", ["x", "y"], user="alice")
    assert item["value"] == '["x", "y"]' and item["name"] == "tags"
    services.conversations.set_variable(app, conv.id, "v-count", 2.5)
    values = {i["name"]: i["value"] for i in services.conversations.variables(app, conv.id)[0]}
    assert values == {"str": "first", "count": "2.5", "tags": '["x", "y"]', "prefs": "{}"}  # the others kept
    bad = [("v-count", "3", "'count' expects a value of type number, not string"),
           ("v-count", True, "expects a value of type number, not boolean"),
           ("v-tags", ["x", 1], "'tags' expects a value of type array\\[string\\], not array"),
           ("v-prefs", [], "'prefs' expects a value of type object, not array"),
           ("e208ec58-4503-48a9-baf8-17aae67e5fa0", None, "'str' expects a value of type string, not null")]
    for var_id, value, message in bad:
        with pytest.raises(ValidationError, match=message):
            services.conversations.set_variable(app, conv.id, var_id, value)
    with pytest.raises(NotFoundError, match="Conversation Variable Not Exists."):
        services.conversations.set_variable(app, conv.id, "nope", "x")
    with pytest.raises(NotFoundError, match="Conversation Variable Not Exists."):
        services.conversations.variables(app, conv.id, last_id="nope")
    with pytest.raises(NotFoundError, match="Conversation Not Exists."):
        services.conversations.variables(app, conv.id, user="bob")
    # The next turn starts from the stored values: the run assigns `str` and keeps what the API set.
    list(services.workflows.run(app.id, query="second", conversation_id=conv.id, user="alice"))
    values = {i["name"]: i["value"] for i in services.conversations.variables(app, conv.id)[0]}
    assert values == {"str": "second", "count": "2.5", "tags": '["x", "y"]', "prefs": "{}"}


def test_workflow_logs_filter_and_count(services):
    app = services.dsl.import_file(SAMPLES / "simple_passthrough_workflow.yml").app
    for query, user in (("hello", "alice"), ("wörld ünïcode", "bob"), ("100%_done", "bob"), ('say "hi"', "carol")):
        list(services.workflows.run(app.id, inputs={"query": query}, user=user))
    runs, total = services.workflows.logs(app.name)
    assert total == 4 and [r.inputs["query"] for r in runs] == ['say "hi"', "100%_done", "wörld ünïcode", "hello"]
    assert [r.user for r in runs] == ["carol", "bob", "bob", "alice"]
    assert services.workflows.get_run(runs[-1].id).user == "alice"

    def queries(**kw):
        return sorted(r.inputs["query"] for r in services.workflows.logs(app.id, **kw)[0])

    assert queries(keyword="HELLO") == ["hello"]
    assert queries(keyword="ünï") == ["wörld ünïcode"]
    assert queries(keyword="%") == ["100%_done"] and queries(keyword="_") == ["100%_done"]
    assert queries(keyword='"hi"') == ['say "hi"']
    assert queries(keyword=runs[0].id) == ['say "hi"']
    assert queries(user="bob") == ["100%_done", "wörld ünïcode"] and queries(user="dave") == []
    assert len(queries(status="succeeded")) == 4 and queries(status="failed") == []
    assert all(r.status == RunStatus.SUCCEEDED for r in runs)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    assert queries(created_after=now + timedelta(minutes=1)) == []
    assert queries(created_before=now - timedelta(minutes=1)) == []
    assert len(queries(created_after=now - timedelta(minutes=5), created_before=now + timedelta(minutes=1))) == 4
    page, total = services.workflows.logs(app.id, page=2, limit=3)
    assert total == 4 and [r.id for r in page] == [runs[-1].id]
    with pytest.raises(ValidationError, match="status must be one of succeeded, failed, stopped, partial-succeeded"):
        services.workflows.logs(app.id, status="running")
    with pytest.raises(ValidationError, match="limit between 1 and 100"):
        services.workflows.logs(app.id, limit=101)
    with pytest.raises(NotFoundError, match="No app with id or name"):
        services.workflows.logs("nope")
