"""The Models page: the bundled model's metadata, a refused corrupt file, and a test load off the main thread."""

from __future__ import annotations

from PySide6.QtCore import Qt

COL = {name: i for i, name in enumerate(("Name", "Kind", "Architecture", "Parameters", "Quantisation", "Context",
                                         "Size", "Source", "Error"))}


def row_values(page, row: int) -> dict[str, str]:
    return {name: page.table.item(row, col).text() for name, col in COL.items()}


def test_lists_bundled_model_and_refuses_corrupt_file(qtbot, window, services, tmp_path):
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    page = window.models_page
    assert window.current_page() == "models"
    qtbot.waitUntil(lambda: page.loaded_once, timeout=10_000)
    rows = [row_values(page, r) for r in range(page.table.rowCount())]
    smol = next(r for r in rows if "SmolLM2" in r["Name"])
    assert smol["Kind"] == "chat" and smol["Architecture"] == "llama" and smol["Quantisation"] == "Q4_1"
    assert smol["Context"] == "8,192" and smol["Source"] == "bundled" and smol["Parameters"] == "135M"
    assert smol["Size"].endswith("MB") and smol["Error"] == ""
    assert smol["Name"].startswith("★"), "the default model is not marked"
    assert "<|im_start|>" in page.template.toPlainText()
    assert not page.remove_button.isEnabled(), "a bundled model must not be removable"

    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"\x00junk" * 500)
    before = len(services.models.list())
    page.add_file(str(bad))
    qtbot.waitUntil(lambda: page.message.isVisible() and page.busy_count == 0, timeout=10_000)
    assert page.message.property("role") == "error"
    assert "not a GGUF model file" in page.message.text() and "Traceback" not in page.message.text()
    assert len(services.models.list()) == before
    assert page.table.rowCount() == before


def test_test_load_runs_on_a_worker_with_a_busy_indicator(qtbot, window):
    window.show_page("models")
    page = window.models_page
    qtbot.waitUntil(lambda: page.loaded_once and page.load_button.isEnabled(), timeout=10_000)
    qtbot.mouseClick(page.load_button, Qt.MouseButton.LeftButton)
    assert page.progress.isVisible() and "Loading" in page.busy_label.text()
    assert not page.load_button.isEnabled()
    qtbot.waitUntil(lambda: page.busy_count == 0, timeout=60_000)
    assert "loaded fine" in page.message.text()
    assert not page.progress.isVisible()


def test_missing_user_model_shows_error_in_red(qtbot, window, services, tmp_path):
    import shutil

    source = services.models.list()[0].path
    copy = tmp_path / "copy.gguf"
    shutil.copyfile(source, copy)
    added = services.models.add(str(copy))
    copy.unlink()
    window.show_page("models")
    page = window.models_page
    qtbot.waitUntil(lambda: page.loaded_once, timeout=10_000)
    row = next(r for r in range(page.table.rowCount()) if page.table.item(r, 0).data(Qt.ItemDataRole.UserRole + 1)
               == added.id)
    error_item = page.table.item(row, COL["Error"])
    assert "not found" in error_item.text().lower()
    assert error_item.foreground().color().name().lower() == "#d92d20"
    page.table.selectRow(row)
    assert page.remove_button.isEnabled() and not page.load_button.isEnabled()
    page.remove_selected()
    remove = next(b for b in page.dialog.buttons() if b.text() == "Remove")
    qtbot.mouseClick(remove, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: added.id not in [m.id for m in page.models] and page.busy_count == 0, timeout=10_000)
    assert added.id not in [m.id for m in services.models.list()]
