"""The Metadata tab of a knowledge base: fields from front matter and declared ones with their counts, add / rename /
delete through the dialogs, a document's values saved from the form (typed, with errors shown), the built-in
switch, and a retrieval test that filters on what the tab set."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from tests.ui.test_knowledge_page import ingested_kb, open_knowledge

DOCS = {
    "paris.md": "---\nauthor: alice\n---\n\n# Paris\n\nParis is the capital of France.\n",
    "rivers.txt": "The Danube flows through Vienna and Budapest.\n",
}


def rows(panel) -> dict[str, tuple[str, str]]:
    t = panel.table
    return {t.item(r, 0).text(): (t.item(r, 1).text(), t.item(r, 2).text()) for r in range(t.rowCount())}


def open_metadata(qtbot, window, services, tmp_path):
    dataset = ingested_kb(services, tmp_path, docs=DOCS)
    page = open_knowledge(qtbot, window)
    view = page.open_dataset(dataset)
    view.tabs.setCurrentIndex([view.tabs.tabText(i) for i in range(view.tabs.count())].index("Metadata"))
    panel = view.metadata
    qtbot.waitUntil(lambda: panel.loaded, timeout=10_000)
    assert panel.isVisible()
    return dataset, panel


def select(panel, name: str) -> None:
    panel.table.selectRow(list(rows(panel)).index(name))


def test_fields_are_added_filled_renamed_and_deleted(qtbot, window, services, tmp_path):
    dataset, panel = open_metadata(qtbot, window, services, tmp_path)
    knowledge = services.knowledge
    assert rows(panel) == {"author": ("string", "1")}
    assert panel.built_in.isChecked()

    dialog = panel.add_field()
    dialog.name.setText("year")
    dialog.kind.setCurrentText("number")
    dialog.accept()
    qtbot.waitUntil(lambda: "year" in rows(panel), timeout=10_000)
    assert rows(panel)["year"] == ("number", "0") and not shiboken6.isValid(dialog)  # closed and deleted

    again = panel.add_field()
    again.name.setText("year")
    again.accept()
    qtbot.waitUntil(lambda: again.error.isVisible(), timeout=10_000)
    assert "already exists" in again.error.text() and again.isVisible() and again.save_button.isEnabled()
    again.reject()

    paris = next(d for d in knowledge.documents(dataset.id) if d.name == "paris.md")
    panel.document.setCurrentIndex(panel.document.findData(paris.id))
    year_id = next(f["id"] for f in panel.fields if f["name"] == "year")
    assert panel.editors["author"].text() == "alice"
    panel.editors[year_id].setText("last spring")
    panel.save_values()
    qtbot.waitUntil(lambda: panel.message.isVisible() and "year" in panel.message.text(), timeout=10_000)
    assert "year" not in knowledge.document(paris.id).doc_metadata  # nothing half-saved
    panel.editors[year_id].setText("2021")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: rows(panel).get("year") == ("number", "1"), timeout=10_000)
    assert knowledge.document(paris.id).doc_metadata == {"author": "alice", "year": 2021}
    hits = knowledge.search(dataset.id, "capital of France", metadata_conditions={
        "logical_operator": "and", "conditions": [{"name": "year", "comparison_operator": ">", "value": 2020}]})
    assert [h.document.name for h in hits] == ["paris.md"]

    select(panel, "author")
    rename = panel.rename_selected()
    assert not rename.kind.isEnabled()
    rename.name.setText("writer")
    rename.accept()
    qtbot.waitUntil(lambda: "writer" in rows(panel), timeout=10_000)
    assert knowledge.document(paris.id).doc_metadata["writer"] == "alice"

    select(panel, "year")
    box = panel.delete_selected()
    assert "1 document" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert "year" in rows(panel)
    select(panel, "year")
    box = panel.delete_selected()
    next(b for b in box.buttons() if b.text() == "Delete").click()
    qtbot.waitUntil(lambda: "year" not in rows(panel), timeout=10_000)
    assert knowledge.document(paris.id).doc_metadata == {"writer": "alice"}

    panel.save_values()  # nothing changed: nothing is written
    assert "No values" in panel.message.text()
    panel.editors["writer"].setText("")  # empty clears a value
    panel.save_values()
    qtbot.waitUntil(lambda: rows(panel) == {}, timeout=10_000)
    assert panel.empty.isVisible() and knowledge.document(paris.id).doc_metadata == {}


def test_built_in_switch(qtbot, window, services, tmp_path):
    dataset, panel = open_metadata(qtbot, window, services, tmp_path)
    panel.built_in.setChecked(False)
    qtbot.waitUntil(lambda: not services.knowledge.get(dataset.id).built_in_metadata, timeout=10_000)
    by_name = {"logical_operator": "and", "conditions": [{"name": "document_name", "comparison_operator": "is",
                                                          "value": "rivers.txt"}]}
    assert services.knowledge.search(dataset.id, "Danube", metadata_conditions=by_name) == []
    panel.built_in.setChecked(True)
    qtbot.waitUntil(lambda: services.knowledge.get(dataset.id).built_in_metadata, timeout=10_000)
    assert services.knowledge.search(dataset.id, "Danube", metadata_conditions=by_name)


def test_tags_are_made_ticked_filtered_renamed_and_deleted(qtbot, window, services, tmp_path):
    knowledge = services.knowledge
    travel = ingested_kb(services, tmp_path, docs=DOCS)
    manual = knowledge.create("Manual")
    page = open_knowledge(qtbot, window)
    grid = page.list_view.grid
    assert not page.list_view.tag_filter.isVisible()  # no tags yet, no filter

    dialog = page.edit_tags(travel)
    qtbot.waitUntil(lambda: dialog.list.count() == 0 and not dialog.error.isVisible(), timeout=5_000)
    for name in ("europe", "rivers"):
        dialog.new_name.setText(name)
        dialog.create_tag()
        qtbot.waitUntil(lambda n=name: n in [dialog.list.item(i).text().split()[0]
                                             for i in range(dialog.list.count())], timeout=10_000)
    qtbot.waitUntil(lambda: len(dialog.checked()) == 2, timeout=10_000)  # a tag made here goes on at once
    dialog.new_name.setText("europe")
    dialog.create_tag()
    qtbot.waitUntil(dialog.error.isVisible, timeout=10_000)
    assert "europe" in dialog.error.text()
    rivers = next(i for i in range(dialog.list.count()) if dialog.list.item(i).text().startswith("rivers"))
    dialog.list.item(rivers).setCheckState(Qt.CheckState.Unchecked)  # saved at once, no Save button
    qtbot.waitUntil(lambda: [t.name for t in knowledge.tags_of([travel.id])[travel.id]] == ["europe"],
                    timeout=10_000)
    dialog.reject()
    qtbot.waitUntil(lambda: page.list_view.tag_filter.count() == 3, timeout=10_000)

    page.list_view.tag_filter.setCurrentText("europe")
    visible = [grid.item(i).data(Qt.ItemDataRole.AccessibleTextRole) for i in range(grid.count())
               if not grid.item(i).isHidden()]
    assert visible == ["Travel notes"] and "1 of 2" in page.list_view.count_label.text()
    page.list_view.tag_filter.setCurrentText("All tags")
    assert sum(not grid.item(i).isHidden() for i in range(grid.count())) == 2

    dialog = page.edit_tags(manual)
    qtbot.waitUntil(lambda: dialog.list.count() == 2, timeout=10_000)
    assert dialog.checked() == set()
    europe = next(t for t in dialog.tags if t.name == "europe")
    dialog.rename_to(europe, "Europe")
    qtbot.waitUntil(lambda: any(t.name == "Europe" for t in dialog.tags), timeout=10_000)
    dialog.list.setCurrentRow(next(i for i in range(dialog.list.count())
                                   if dialog.list.item(i).text().startswith("rivers")))
    box = dialog.delete_selected()
    next(b for b in box.buttons() if b.text() == "Delete").click()
    qtbot.waitUntil(lambda: dialog.list.count() == 1, timeout=10_000)
    dialog.reject()
    qtbot.waitUntil(lambda: page.list_view.tag_filter.count() == 2, timeout=10_000)
    assert [t.name for t in knowledge.tags()] == ["Europe"]


def test_front_matter_lists_stay_lists_and_new_documents_show_up(qtbot, window, services, tmp_path):
    docs = {**DOCS, "bikes.md": "---\ntags: [outdoor, sport]\nyear: 2020\n---\n\n# Bikes\n\nBikes need oil.\n"}
    dataset, panel = open_metadata(qtbot, window, services, tmp_path)
    knowledge = services.knowledge
    assert set(rows(panel)) == {"author"}
    extra = tmp_path / "more"
    extra.mkdir()
    (extra / "bikes.md").write_text(docs["bikes.md"], encoding="utf-8")
    knowledge.add(dataset.id, [extra / "bikes.md"])
    knowledge.ingest(dataset.id)
    view = panel.parent()
    while view is not None and not hasattr(view, "tabs"):
        view = view.parent()
    view.tabs.setCurrentIndex(0)
    view.tabs.setCurrentIndex([view.tabs.tabText(i) for i in range(view.tabs.count())].index("Metadata"))
    qtbot.waitUntil(lambda: {"tags", "year"} <= set(rows(panel)), timeout=10_000)  # read again when shown

    bikes = next(d for d in knowledge.documents(dataset.id) if d.name == "bikes.md")
    panel.document.setCurrentIndex(panel.document.findData(bikes.id))
    tags = panel.editors["tags"]
    assert tags.isReadOnly() and tags.text() == '["outdoor", "sport"]'
    panel.editors["year"].setText("2021")
    panel.save_values()
    qtbot.waitUntil(lambda: knowledge.document(bikes.id).doc_metadata.get("year") == 2021, timeout=10_000)
    assert knowledge.document(bikes.id).doc_metadata["tags"] == ["outdoor", "sport"]


def test_retrieval_testing_filters_on_metadata(qtbot, window, services, tmp_path):
    dataset, _panel = open_metadata(qtbot, window, services, tmp_path)
    view = _panel.parent()
    while not hasattr(view, "tabs"):
        view = view.parent()
    view.tabs.setCurrentIndex(1)
    retrieval = view.retrieval
    qtbot.waitUntil(lambda: retrieval.filter_field.count() > 1, timeout=10_000)
    assert retrieval.filter_field.findData("author") > 0
    assert not retrieval.filter_op.isVisible()
    retrieval.query.setText("capital of France")
    retrieval.filter_field.setCurrentIndex(retrieval.filter_field.findData("author"))
    assert retrieval.filter_op.isVisible() and retrieval.filter_op.currentText() == "is"
    retrieval.search()
    qtbot.waitUntil(retrieval.error.isVisible, timeout=10_000)
    assert "value" in retrieval.error.text()
    retrieval.filter_value.setText("bob")
    retrieval.search()
    qtbot.waitUntil(lambda: not retrieval.busy, timeout=20_000)
    assert retrieval.cards == [] and "metadata filter" in retrieval.status.text()
    retrieval.filter_value.setText("alice")
    retrieval.search()
    qtbot.waitUntil(lambda: not retrieval.busy and bool(retrieval.cards), timeout=20_000)
    assert {c.record.document.name for c in retrieval.cards} == {"paris.md"}
    assert "where author is alice" in retrieval.status.text()
