"""A knowledge base's Settings tab: retrieval settings saved with Ctrl+S, a name clash shown inline, and Rebuild
index… re-embedding every chunk through the Documents tab's progress strip."""

from __future__ import annotations

from PySide6.QtCore import Qt

from studio.core.knowledge import DocumentStatus
from tests.ui.test_knowledge_page import ingested_kb, open_knowledge, table_rows

CTRL = Qt.KeyboardModifier.ControlModifier


def open_settings(qtbot, window, services, tmp_path):
    dataset = ingested_kb(services, tmp_path)
    page = open_knowledge(qtbot, window)
    view = page.open_dataset(dataset)
    view.tabs.setCurrentIndex([view.tabs.tabText(i) for i in range(view.tabs.count())].index("Settings"))
    panel = view.settings
    assert panel.isVisible() and panel.name.text() == dataset.name
    qtbot.waitUntil(lambda: not panel.reranker.isEnabled(), timeout=10_000)  # the model list has arrived
    return page, view, panel, dataset


def test_retrieval_settings_save_with_ctrl_s(qtbot, window, services, tmp_path):
    page, view, panel, dataset = open_settings(qtbot, window, services, tmp_path)
    assert not panel.is_dirty() and not panel.save_button.isEnabled()
    assert "Models page" in panel.reranker.toolTip()
    assert panel.fusion_box.isVisible()  # hybrid is the default
    assert "all-minilm-l6-v2" in panel.embedding_info.text() and panel.dimension_info.text() == str(
        dataset.dimension)

    panel.methods["semantic_search"].setChecked(True)
    assert not panel.fusion_box.isVisible()
    panel.methods["hybrid_search"].setChecked(True)
    panel.fusions["weighted_score"].setChecked(True)
    panel.weight.setValue(70)
    assert panel.vector_label.text() == "Semantic 0.70" and panel.keyword_label.text() == "0.30 Keyword"
    panel.top_k.setValue(7)
    panel.use_threshold.setChecked(True)
    panel.threshold.setValue(0.25)
    assert panel.is_dirty() and "Unsaved" in panel.status.text() and panel.save_button.isEnabled()

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    qtbot.waitUntil(lambda: panel.status.text() == "Saved", timeout=10_000)
    saved = services.knowledge.get(dataset.id).retrieval
    assert saved.search_method == "hybrid_search" and saved.top_k == 7
    assert saved.reranking_mode == "weighted_score" and not saved.reranking_enable
    assert (saved.vector_weight, saved.keyword_weight) == (0.7, 0.3)
    assert saved.score_threshold_enabled and saved.score_threshold == 0.25
    assert not panel.is_dirty() and not panel.save_button.isEnabled()

    panel.fusions["reciprocal_rank_fusion"].setChecked(True)
    assert not panel.weights_row.isVisible()
    panel.methods["full_text_search"].setChecked(True)
    qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.status.text() == "Saved", timeout=10_000)
    saved = services.knowledge.get(dataset.id).retrieval
    assert saved.search_method == "full_text_search" and saved.reranking_mode == "reciprocal_rank_fusion"
    qtbot.waitUntil(lambda: "Full-text" in view.info.text(), timeout=10_000)  # the header follows


def test_rename_clash_shows_inline_error(qtbot, window, services, tmp_path):
    services.knowledge.create("Recipes")
    page, view, panel, dataset = open_settings(qtbot, window, services, tmp_path)
    panel.name.setText("recipes")
    qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(panel.name_error.isVisible, timeout=10_000)
    assert "already exists" in panel.name_error.text() and "Traceback" not in panel.name_error.text()
    assert panel.name.property("invalid") is True and panel.is_dirty()
    assert services.knowledge.get(dataset.id).name == dataset.name
    panel.name.setText("Travel notes 2")
    assert not panel.name_error.isVisible()
    panel.description.setPlainText("Cities and rivers.")
    qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.status.text() == "Saved", timeout=10_000)
    fresh = services.knowledge.get(dataset.id)
    assert (fresh.name, fresh.description) == ("Travel notes 2", "Cities and rivers.")
    assert view.name.text() == "Travel notes 2"


def test_rebuild_reindexes_through_the_documents_progress(qtbot, window, services, tmp_path):
    page, view, panel, dataset = open_settings(qtbot, window, services, tmp_path)
    dialog = panel.confirm_rebuild()
    assert dialog is not None and dialog.embedding.itemData(0) == "" and dialog.choice() is None
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dataset.id in page.jobs, timeout=20_000)
    job = page.jobs[dataset.id]
    assert view.tabs.currentIndex() == 0 and view.documents.progress.isVisible()
    qtbot.waitUntil(lambda: job.report is not None and not job.running, timeout=60_000)
    assert not job.report.cancelled and job.report.chunks > 0
    assert {d.status for d in services.knowledge.documents(dataset.id)} == {DocumentStatus.COMPLETED}
    qtbot.waitUntil(lambda: {r["Status"] for r in table_rows(view.documents).values()} == {"Available"},
                    timeout=10_000)
    records = services.knowledge.search(dataset.id, "Which river flows through London?")
    assert records and "Thames" in records[0].segment.content
    assert panel.rebuild_button.isEnabled()
