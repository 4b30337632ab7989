"""The Knowledge page: create through the dialog, add by drop, live progress, cancel and resume, chunk editing,
retrieval testing, and citations under a chat answer from an attached knowledge base."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from studio.core.knowledge import DocumentStatus
from studio.ui.editor.context_section import attached_ids
from studio.ui.knowledge.documents import COLUMNS

CTRL = Qt.KeyboardModifier.ControlModifier
COL = {name: i for i, name in enumerate(COLUMNS)}
DOCS = {
    "paris.md": "# Paris\n\nParis is the capital of France. The Eiffel Tower stands on the Champ de Mars.\n",
    "rivers.txt": "The Danube flows through Vienna and Budapest.\n\nThe Thames flows through London.\n",
}


def write_docs(folder, docs=DOCS):
    folder.mkdir(exist_ok=True)
    for name, text in docs.items():
        (folder / name).write_text(text, encoding="utf-8")
    return [folder / name for name in docs]


def open_knowledge(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_2, CTRL)
    page = window.knowledge_page
    assert window.current_page() == "knowledge"
    qtbot.waitUntil(lambda: page.loaded_once, timeout=10_000)
    return page


def ingested_kb(services, tmp_path, name="Travel notes", docs=DOCS):
    dataset = services.knowledge.create(name)
    services.knowledge.add(dataset.id, write_docs(tmp_path / "docs", docs))
    report = services.knowledge.ingest(dataset.id)
    assert not report.failed and not report.cancelled
    return services.knowledge.get(dataset.id)


def drop(widget, paths) -> None:
    """Offscreen Qt delivers no synthetic drag events, so the handlers get them directly, in a drag's order."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    widget.dragEnterEvent(enter)
    assert enter.isAccepted() and widget.drop_hint.isVisible()
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(event)
    assert event.isAccepted() and not widget.drop_hint.isVisible()


def table_rows(docs_panel) -> dict[str, dict[str, str]]:
    table = docs_panel.table
    return {table.item(r, 0).text(): {c: table.item(r, i).text() for c, i in COL.items() if i < 4}
            for r in range(table.rowCount())}


def test_create_through_dialog_then_drop_files_and_watch_progress(qtbot, window, services, tmp_path):
    page = open_knowledge(qtbot, window)
    assert page.list_view.empty_label.isVisible()
    qtbot.mouseClick(page.list_view.create_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    qtbot.waitUntil(lambda: dialog.embedding.findData("all-minilm-l6-v2") >= 0, timeout=10_000)
    dialog.name.setText("Travel notes")
    dialog.chunk_size.setValue(100)
    dialog.overlap.setValue(150)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=10_000)
    assert "overlap" in dialog.error.text() and "Traceback" not in dialog.error.text()
    assert dialog.overlap.property("invalid") is True and dialog.isVisible()
    dialog.overlap.setValue(20)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.currentWidget() is page.view, timeout=10_000)
    dataset = services.knowledge.get("Travel notes")
    assert dataset.process_rule.segmentation.max_tokens == 100
    view = page.view
    assert view.name.text() == "Travel notes"
    qtbot.waitUntil(lambda: view.documents.loaded, timeout=10_000)
    assert view.documents.empty.isVisible()

    paths = write_docs(tmp_path / "docs")
    (tmp_path / "docs" / "image.png").write_bytes(b"\x89PNG")
    drop(view, [*paths, tmp_path / "docs" / "image.png"])
    qtbot.waitUntil(lambda: dataset.id in page.jobs, timeout=10_000)
    job = page.jobs[dataset.id]
    assert view.documents.progress.isVisible()
    qtbot.waitUntil(lambda: job.report is not None, timeout=60_000)
    assert "2 files added" in view.documents.message.text() and "unsupported" in view.documents.message.text()
    assert job.last is not None and job.last.phase == "done" and job.last.chunks_total > 0
    assert "Done" in view.documents.progress.detail.text()
    qtbot.waitUntil(lambda: {r["Status"] for r in table_rows(view.documents).values()} == {"Available"},
                    timeout=10_000)
    rows = table_rows(view.documents)
    assert set(rows) == set(DOCS)
    counts = {d.name: d.segment_count for d in services.knowledge.documents(dataset.id)}
    assert all(rows[name]["Chunks"] == str(counts[name]) and counts[name] > 0 for name in DOCS)
    assert not view.documents.progress.cancel_button.isVisible()

    window.activateWindow()  # the dialog had the focus; window shortcuts need the window active again
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    qtbot.keyClick(window, Qt.Key.Key_W, CTRL)  # back to the list, which now counts the documents
    qtbot.waitUntil(lambda: page.currentWidget() is page.list_view and page.list_view.grid.count() == 1,
                    timeout=10_000)
    qtbot.waitUntil(lambda: page.list_view.grid.datasets()[0].document_count == 2, timeout=10_000)


def test_cancel_pauses_the_documents_and_resume_finishes_them(qtbot, window, services, tmp_path):
    dataset = services.knowledge.create("Many notes")
    page = open_knowledge(qtbot, window)
    qtbot.waitUntil(lambda: page.list_view.grid.count() == 1, timeout=10_000)
    page.open_dataset(page.list_view.grid.datasets()[0])
    docs = {f"note{i}.md": f"# Note {i}\n\nThis is note number {i} about city {i}.\n" for i in range(6)}
    page.add_paths([str(p) for p in write_docs(tmp_path / "notes", docs)])
    qtbot.waitUntil(lambda: dataset.id in page.jobs and page.jobs[dataset.id].running, timeout=10_000)
    strip = page.view.documents.progress
    qtbot.mouseClick(strip.cancel_button, Qt.MouseButton.LeftButton)
    job = page.jobs[dataset.id]
    qtbot.waitUntil(lambda: job.report is not None, timeout=60_000)
    assert job.report.cancelled and "Cancelled" in strip.detail.text()
    assert {d.status for d in services.knowledge.documents(dataset.id)} == {DocumentStatus.PAUSED}
    docs_panel = page.view.documents
    qtbot.waitUntil(lambda: {r["Status"] for r in table_rows(docs_panel).values()} == {"Paused"}, timeout=10_000)
    assert docs_panel.resume_button.isVisible()

    qtbot.mouseClick(docs_panel.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not job.running and job.report is not None and not job.report.cancelled,
                    timeout=60_000)
    qtbot.waitUntil(lambda: {r["Status"] for r in table_rows(docs_panel).values()} == {"Available"},
                    timeout=10_000)
    assert not docs_panel.resume_button.isVisible()


def test_chunk_editor_saves_and_filters(qtbot, window, services, tmp_path):
    dataset = ingested_kb(services, tmp_path)
    page = open_knowledge(qtbot, window)
    view = page.open_dataset(dataset)
    docs_panel = view.documents
    qtbot.waitUntil(lambda: docs_panel.table.rowCount() == 2, timeout=10_000)
    row = [docs_panel.table.item(r, 0).text() for r in range(2)].index("paris.md")
    docs_panel.table.selectRow(row)
    qtbot.mouseClick(docs_panel.chunks_button, Qt.MouseButton.LeftButton)
    chunks = view.chunks
    qtbot.waitUntil(lambda: bool(chunks.cards), timeout=10_000)
    card = chunks.cards[0]
    assert card.title.text() == "Chunk-01" and "characters" in card.meta.text()
    qtbot.mouseClick(card, Qt.MouseButton.LeftButton)
    dialog = chunks.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.editor.selectAll()
    qtbot.keyClicks(dialog.editor, "Lyon is famous for its food.")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog) or not dialog.isVisible(), timeout=30_000)
    assert card.body.text() == "Lyon is famous for its food."
    stored = services.knowledge.segments(card.segment.document_id)[0]
    assert stored.content == "Lyon is famous for its food."

    qtbot.mouseClick(card.switch, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not services.knowledge.segments(card.segment.document_id)[0].enabled, timeout=10_000)

    view.close_chunks()
    row = [docs_panel.table.item(r, 0).text() for r in range(2)].index("rivers.txt")
    docs_panel.table.selectRow(row)
    qtbot.mouseClick(docs_panel.chunks_button, Qt.MouseButton.LeftButton)
    count = docs_panel.selected_document().segment_count
    qtbot.waitUntil(lambda: len(chunks.cards) == count and chunks.document.name == "rivers.txt", timeout=10_000)
    qtbot.keyClicks(chunks.keyword, "zebra")
    qtbot.waitUntil(lambda: not chunks.cards and not chunks.loading, timeout=10_000)
    assert chunks.empty.isVisible() and "zebra" in chunks.empty.text()
    chunks.keyword.clear()
    qtbot.keyClicks(chunks.keyword, "Thames")
    qtbot.waitUntil(lambda: len(chunks.cards) == 1 and not chunks.loading, timeout=10_000)
    assert "Thames" in chunks.cards[0].body.text()


def test_retrieval_testing_shows_ranked_results(qtbot, window, services, tmp_path):
    dataset = ingested_kb(services, tmp_path)
    page = open_knowledge(qtbot, window)
    view = page.open_dataset(dataset)
    view.tabs.setCurrentIndex(1)
    panel = view.retrieval
    assert panel.isVisible() and panel.empty.isVisible()
    panel.mode.setCurrentIndex(panel.mode.findData("semantic_search"))
    panel.top_k.setValue(3)
    qtbot.keyClicks(panel.query, "Which river flows through London?")
    qtbot.keyClick(panel.query, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(panel.cards) and not panel.busy, timeout=30_000)
    scores = [c.record.score for c in panel.cards]
    assert scores == sorted(scores, reverse=True) and len(scores) <= 3
    top = panel.cards[0].record
    assert "Thames" in top.segment.content and top.document.name == "rivers.txt"
    assert "result" in panel.status.text()

    panel.query.clear()
    qtbot.mouseClick(panel.search_button, Qt.MouseButton.LeftButton)
    assert panel.error.isVisible() and "query" in panel.error.text()


def test_chat_app_with_attached_knowledge_shows_citations(qtbot, window, services, tmp_path, make_app):
    dataset = ingested_kb(services, tmp_path)
    app = make_app("Guide", max_tokens=8)
    editor = window.studio_page.open_app(app)
    context = editor.form.context
    qtbot.waitUntil(lambda: context.known, timeout=10_000)
    context.attach(dataset.id)
    assert editor.save_now()
    attached = services.apps.get(app.id).config["dataset_configs"]["datasets"]["datasets"]
    assert attached == [{"dataset": {"enabled": True, "id": dataset.id}}]
    editor.undo_stack.undo()
    assert context.ids == [] and editor.save_now()
    assert attached_ids(services.apps.get(app.id).config) == []  # undo restored the config as it was
    editor.undo_stack.redo()
    assert context.ids == [dataset.id]

    panel = editor.debug
    with qtbot.waitSignal(panel.answer_finished, timeout=60_000) as finished:
        panel.send("What is the capital of France?")
    resources = finished.args[0].message.retriever_resources
    assert resources, "the answer has no citations"
    bubble = panel.answer_bubbles()[-1]
    row = bubble.citations
    assert row.isVisible() and row.chips
    names = {r["document_name"] for r in resources}
    assert set(row.groups) == names
    qtbot.mouseClick(row.chips[0], Qt.MouseButton.LeftButton)
    assert row.detail.isVisible()
    first = next(iter(row.groups.values()))[0]["content"]
    texts = [row.quotes.itemAt(i).widget().text() for i in range(row.quotes.count())]
    assert any(first[:30] in t for t in texts)
    qtbot.mouseClick(row.chips[0], Qt.MouseButton.LeftButton)
    assert not row.detail.isVisible()


def test_work_left_by_a_crash_resumes_when_the_page_opens(qtbot, window, services, tmp_path):
    dataset = services.knowledge.create("Left over")
    services.knowledge.add(dataset.id, write_docs(tmp_path / "docs"))  # queued, never ingested: as after a kill
    assert [d.id for d in services.knowledge.interrupted()] == [dataset.id]
    page = open_knowledge(qtbot, window)
    qtbot.waitUntil(lambda: dataset.id in page.jobs, timeout=10_000)
    assert "Resuming indexing of “Left over”" in page.list_view.message.text()
    job = page.jobs[dataset.id]
    qtbot.waitUntil(lambda: job.report is not None, timeout=60_000)
    assert {d.status for d in services.knowledge.documents(dataset.id)} == {DocumentStatus.COMPLETED}
    qtbot.waitUntil(lambda: page.list_view.grid.count() == 1
                    and page.list_view.grid.datasets()[0].segment_count > 0, timeout=10_000)


def test_disable_and_delete_a_document(qtbot, window, services, tmp_path):
    dataset = ingested_kb(services, tmp_path)
    page = open_knowledge(qtbot, window)
    docs_panel = page.open_dataset(dataset).documents
    qtbot.waitUntil(lambda: docs_panel.table.rowCount() == 2, timeout=10_000)
    qtbot.mouseClick(docs_panel.switch_for(0), Qt.MouseButton.LeftButton)
    first = docs_panel.documents[0]
    qtbot.waitUntil(lambda: not next(d for d in services.knowledge.documents(dataset.id) if d.id == first.id).enabled,
                    timeout=10_000)
    docs_panel.table.selectRow(1)
    second = docs_panel.selected_document()
    box = docs_panel.delete_selected()
    confirm = next(b for b in box.buttons() if b.text() == "Delete")
    qtbot.mouseClick(confirm, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: docs_panel.table.rowCount() == 1, timeout=10_000)
    assert second.id not in {d.id for d in services.knowledge.documents(dataset.id)}
    assert "Deleted" in docs_panel.message.text()


def test_create_dialog_embeds_through_an_endpoint(qtbot, window, services):
    page = open_knowledge(qtbot, window)
    dialog = page.create_dataset()
    qtbot.waitUntil(lambda: dialog.embedding.findData("all-minilm-l6-v2") >= 0, timeout=10_000)
    assert not dialog.endpoint_url.isVisible() and not dialog.endpoint_model.isVisible()
    dialog.embedding.setCurrentIndex(dialog.embedding.findData("openai_api_compatible"))
    assert dialog.endpoint_url.isVisible() and dialog.endpoint_model.isVisible()
    assert "API key" in dialog.endpoint_hint.text()
    dialog.name.setText("Remote notes")
    dialog.endpoint_url.setText("localhost:8080")
    dialog.endpoint_model.setText("nomic-embed-text")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=10_000)
    assert "URL" in dialog.error.text() and dialog.endpoint_url.property("invalid") is True
    assert dialog.name.property("invalid") is not True
    dialog.endpoint_url.setText("http://127.0.0.1:8080/v1")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.currentWidget() is page.view, timeout=10_000)
    embedding = services.knowledge.get("Remote notes").embedding
    assert (embedding.provider, embedding.model, embedding.base_url) == (
        "openai_api_compatible", "nomic-embed-text", "http://127.0.0.1:8080/v1")


def test_child_chunks_are_edited_in_the_chunk_viewer(qtbot, window, services, tmp_path):
    from studio.core.knowledge import ProcessRule

    dataset = services.knowledge.create("Zoo", process_rule=ProcessRule(mode="hierarchical", parent_mode="paragraph"))
    services.knowledge.add(dataset.id, write_docs(tmp_path / "zoo", {
        "zoo.md": "# Zoo\n\nThe reptile house holds a sleepy iguana.\nIt also holds a grumpy tortoise.\n"}))
    assert not services.knowledge.ingest(dataset.id).failed
    page = open_knowledge(qtbot, window)
    view = page.open_dataset(services.knowledge.get(dataset.id))
    docs_panel = view.documents
    qtbot.waitUntil(lambda: docs_panel.table.rowCount() == 1, timeout=10_000)
    docs_panel.table.selectRow(0)
    qtbot.mouseClick(docs_panel.chunks_button, Qt.MouseButton.LeftButton)
    chunks = view.chunks
    qtbot.waitUntil(lambda: bool(chunks.cards), timeout=10_000)
    card = chunks.cards[0]
    assert card.title.text().startswith("Parent-chunk") and not card.edit_button.isEnabled()
    child = next(c for c in card.segment.children if "tortoise" in c.content)
    qtbot.mouseClick(card.child_buttons[child.id], Qt.MouseButton.LeftButton)
    dialog = chunks.dialog
    assert dialog is not None and dialog.isVisible() and dialog.child == child
    assert dialog.text() == child.content and "C-" in dialog.windowTitle()
    dialog.editor.selectAll()
    qtbot.keyClicks(dialog.editor, "It also holds a saxophone-playing komodo dragon.")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog) or not dialog.isVisible(), timeout=30_000)
    assert card.child_texts[child.id].text() == "It also holds a saxophone-playing komodo dragon."
    assert "tortoise" in card.body.text()  # the parent keeps the document's text
    top = services.knowledge.search(dataset.id, "komodo dragon", mode="full_text_search")[0]
    assert top.child_chunks[0]["id"] == child.id

    dialog = chunks.edit_child(card.segment, card.segment.children[0])
    dialog.editor.clear()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(dialog.error.isVisible, timeout=10_000)
    assert "empty" in dialog.error.text() and dialog.isVisible()
    dialog.reject()
