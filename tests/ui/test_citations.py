"""The Citations row: grouped by document, hidden when empty, and a chip expands the quoted chunks."""

from __future__ import annotations

from studio.ui.debug.citations import CitationsRow


def resource(doc: str, position: int, content: str, score: float = 0.8) -> dict:
    return {"position": position, "document_name": doc, "dataset_name": "Notes", "score": score,
            "content": content, "segment_position": position, "page": None}


def test_citations_group_by_document_and_expand(qtbot):
    row = CitationsRow()
    qtbot.addWidget(row)
    row.show()
    row.set_resources([])
    assert not row.isVisible()
    row.set_resources([resource("a.md", 1, "Alpha text"), resource("b.pdf", 2, "Beta text"),
                       resource("a.md", 3, "More alpha")])
    assert row.isVisible() and [c.text() for c in row.chips] == ["a.md  ×2", "b.pdf"]
    row.chips[0].click()
    texts = [row.quotes.itemAt(i).widget().text() for i in range(row.quotes.count())]
    assert "Alpha text" in texts and "More alpha" in texts and any("Chunk-01" in t for t in texts)
    row.chips[1].click()
    assert row.chips[1].isChecked() and not row.chips[0].isChecked()
    texts = [row.quotes.itemAt(i).widget().text() for i in range(row.quotes.count())]
    assert "Beta text" in texts and "Alpha text" not in texts
    row.chips[1].click()
    assert not row.detail.isVisible()
