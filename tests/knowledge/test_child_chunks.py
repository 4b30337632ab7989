"""Editing child chunks of a parent-child knowledge base: the child is re-embedded and searchable at once, the search
returns its parent with the edited child, and the parent's text (a region of the document) is left as it was."""

from __future__ import annotations

import pytest

from studio.core.errors import NotFoundError, ValidationError
from studio.core.knowledge import ProcessRule

pytestmark = pytest.mark.slow


@pytest.fixture
def zoo(services, tmp_path):
    doc = tmp_path / "zoo.md"
    doc.write_text("# Zoo\n\nThe reptile house holds a sleepy iguana.\nIt also holds a grumpy tortoise.\n\n"
                   "The aviary has parrots.\nToucans live there too.\n")
    services.knowledge.create("zoo", process_rule=ProcessRule(mode="hierarchical", parent_mode="paragraph"))
    services.knowledge.add("zoo", [doc])
    report = services.knowledge.ingest("zoo")
    assert not report.failed
    (document,) = services.knowledge.documents("zoo")
    return services, document


def test_an_edited_child_is_found_and_returned_with_its_parent(zoo):
    services, document = zoo
    reptiles = next(s for s in services.knowledge.segments(document.id) if "tortoise" in s.content)
    child = next(c for c in reptiles.children if "tortoise" in c.content)
    before = services.knowledge.document_text(document.id)

    new = "  It also holds a saxophone-playing komodo dragon. "
    parent = services.knowledge.update_child_chunk(child.id, content=new)
    edited = next(c for c in parent.children if c.id == child.id)
    assert edited.content == "It also holds a saxophone-playing komodo dragon."
    assert parent.id == reptiles.id and parent.content == reptiles.content  # the parent keeps its text
    assert [c.id for c in parent.children] == [c.id for c in reptiles.children]
    text = services.knowledge.document_text(document.id)
    assert text == before and text[edited.start:edited.end] == child.content  # offsets: where it was cut from

    for mode in ("full_text_search", "semantic_search", "hybrid_search"):
        top = services.knowledge.search("zoo", "saxophone komodo dragon", mode=mode, top_k=2)[0]
        assert top.segment.id == reptiles.id, mode
        assert [c["id"] for c in top.child_chunks][:1] == [child.id], mode
        assert "komodo" in top.child_chunks[0]["content"], mode
    old = services.knowledge.search("zoo", "grumpy tortoise", mode="full_text_search", top_k=5)
    assert all(c["id"] != child.id for r in old for c in r.child_chunks)

    stored = services.knowledge.segments(document.id)
    index = services.knowledge._index(services.knowledge.get("zoo"), 0)
    assert index.count() == sum(len(s.children) for s in stored)  # replaced in place, not added


def test_child_edits_are_checked(zoo):
    services, document = zoo
    child = services.knowledge.segments(document.id)[0].children[0]
    with pytest.raises(ValidationError, match="empty"):
        services.knowledge.update_child_chunk(child.id, content=" \n ")
    with pytest.raises(NotFoundError):
        services.knowledge.update_child_chunk("no-such-child", content="x")
    parent = services.knowledge.segments(document.id)[0]
    with pytest.raises(ValidationError, match="child"):
        services.knowledge.update_segment(parent.id, content="A parent is not edited directly.")
