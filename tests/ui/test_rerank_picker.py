"""Retrieval testing's reranker picker: disabled with a tip without rerankers; with one, its scores order the cards."""
from PySide6.QtCore import Qt

from tests.runtime.reference import write_test_reranker
from tests.ui.test_knowledge_page import ingested_kb, open_knowledge


def test_rerank_picker(qtbot, window, services, tmp_path):
    dataset = ingested_kb(services, tmp_path)
    page = open_knowledge(qtbot, window)
    view = page.open_dataset(dataset)
    view.tabs.setCurrentIndex(1)
    panel = view.retrieval
    qtbot.waitUntil(lambda: not panel.reranker.isEnabled(), timeout=10_000)
    assert "Models page" in panel.reranker.toolTip() and panel.reranker.count() == 1
    path = tmp_path / "rr.gguf"
    write_test_reranker(path)
    model = services.models.add(str(path))
    panel.refresh_models()
    qtbot.waitUntil(lambda: panel.reranker.isEnabled(), timeout=10_000)
    panel.reranker.setCurrentIndex(panel.reranker.findData(model.id))
    panel.top_k.setValue(3)
    qtbot.keyClicks(panel.query, "Which river flows through London?")
    qtbot.keyClick(panel.query, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(panel.cards) and not panel.busy, timeout=30_000)
    assert "reranked by" in panel.status.text(), panel.status.text()
    scores = [c.record.score for c in panel.cards]
    assert scores == sorted(scores, reverse=True) and len(scores) <= 3
    settings = panel.settings()
    assert settings.reranking_enable and settings.reranking_model["reranking_model_name"] == model.id
    direct = services.knowledge.search(dataset.id, "Which river flows through London?", top_k=3, settings=settings)
    assert [r.segment.id for r in direct] == [c.record.segment.id for c in panel.cards]
    panel.reranker.setCurrentIndex(0)
    assert not panel.settings().reranking_enable
