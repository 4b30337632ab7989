"""The API Access page: a real server toggled from the switch, keys made and revoked in the page, and the examples."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QMessageBox

from studio.services.api_access import in_use_message
from studio.ui.main_window import MainWindow

CTRL = Qt.KeyboardModifier.ControlModifier
STUDIO = str(Path(sys.executable).with_name("studio"))
WORKFLOW_YAML = """
app: {mode: workflow, name: Echo flow, icon: "🔁", icon_background: "#E0F2FE", description: Echoes the query}
kind: app
version: 0.3.1
workflow:
  conversation_variables: []
  environment_variables: []
  features: {}
  graph:
    edges:
    - {id: s-e, source: start, target: end, sourceHandle: source, targetHandle: target, type: custom,
       data: {sourceType: start, targetType: end}}
    nodes:
    - id: start
      type: custom
      position: {x: 30, y: 200}
      data:
        type: start
        title: Start
        variables:
        - {variable: query, label: Question, type: text-input, required: true, max_length: 200, options: []}
        - {variable: tone, label: Tone, type: select, required: false, options: [friendly, formal]}
    - id: end
      type: custom
      position: {x: 330, y: 200}
      data:
        type: end
        title: End
        outputs:
        - {variable: answer, value_selector: [start, query], value_type: string}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def open_page(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_6, CTRL)
    assert window.current_page() == "api"
    page = window.api_page
    qtbot.waitUntil(lambda: page.server.loaded and page.keys.loaded_once and page.keys.busy == 0, timeout=10_000)
    return page


def switch_on(qtbot, page, port: int) -> None:
    server = page.server
    server.port.setValue(port)
    server.port.editingFinished.emit()
    qtbot.mouseClick(server.toggle, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not server.busy, timeout=15_000)


def create_key_in_page(qtbot, page, make=None) -> str:
    """Press a create button, read the token from the dialog's line edit, and close the dialog."""
    keys = page.keys
    before = len(keys.keys)
    qtbot.mouseClick(make or keys.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: keys.dialog is not None and keys.dialog.isVisible(), timeout=10_000)
    dialog = keys.dialog
    token = dialog.findChild(QLineEdit, "ApiToken").text()
    assert "will not be shown again" in " ".join(w.text() for w in dialog.findChildren(type(keys.message)))
    dialog.accept()
    qtbot.waitUntil(lambda: len(keys.keys) == before + 1 and keys.busy == 0, timeout=10_000)
    return token


def info(url: str, token: str) -> httpx.Response:
    return httpx.get(f"{url}/info", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_switch_serves_real_http_with_a_key_made_in_the_page(qtbot, window, services, make_app):
    app = make_app("Helper")
    page = open_page(qtbot, window)
    assert page.server.status.text() == "Stopped" and not page.server.toggle.isChecked()
    assert page.keys.stack.currentWidget() is page.keys.empty, "no keys yet: the empty state shows"
    port = free_port()
    switch_on(qtbot, page, port)
    url = f"http://127.0.0.1:{port}/v1"
    assert page.server.running and page.server.toggle.isChecked()
    assert page.server.status.text() == f"Running at {url}" and page.server.url.text() == url
    assert not page.server.port.isEnabled(), "the port cannot change while the server runs"
    assert services.settings.get("api_port") == port

    token = create_key_in_page(qtbot, page)
    assert token.startswith("app-")
    row = {page.keys.table.horizontalHeaderItem(c).text(): page.keys.table.item(0, c).text() for c in range(4)}
    assert row["App"] == "Helper" and row["Key"] == f"app-…{token[-4:]}" and row["Last used"] == "Never"
    reply = info(url, token)
    assert reply.status_code == 200 and reply.json()["name"] == app.name
    assert all(token not in text for text in page.examples.texts())
    assert url in page.examples.curl.toPlainText()

    qtbot.mouseClick(page.server.toggle, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.server.busy, timeout=15_000)
    assert not page.server.running and page.server.status.text() == "Stopped"
    assert page.server.port.isEnabled()
    with pytest.raises(httpx.ConnectError):
        info(url, token)


def test_busy_port_shows_an_error_in_the_status_line(qtbot, window, services):
    page = open_page(qtbot, window)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        switch_on(qtbot, page, port)
    status = page.server.status
    assert not services.api_access.running and not page.server.toggle.isChecked()
    assert status.text() == in_use_message(port)
    assert "Traceback" not in status.text() and status.property("status") == "error"
    assert page.server.toggle.isEnabled() and page.server.port.isEnabled()


def show_page_again(qtbot, window):
    """Leave the page and come back with Ctrl+6, which reads the server state and probes the port again."""
    qtbot.keyClick(window, Qt.Key.Key_5, CTRL)
    assert window.current_page() != "api"
    qtbot.keyClick(window, Qt.Key.Key_6, CTRL)
    assert window.current_page() == "api"


def test_page_says_when_another_program_holds_the_port(qtbot, window, services):
    server = None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))  # bound, not even listening: the server still cannot have it
        port = taken.getsockname()[1]
        services.settings.set("api_port", port)  # as `studio` in a terminal or an earlier session left it
        page = open_page(qtbot, window)
        server = page.server
        qtbot.waitUntil(lambda: server.status.text() == in_use_message(port), timeout=10_000)
        assert server.status.text().startswith(f"Port {port} is in use by another program")
        assert server.status.property("status") == "error" and not server.running
        assert server.toggle.isEnabled() and server.port.isEnabled() and not server.toggle.isChecked()
        assert server.url.text() == f"http://127.0.0.1:{port}/v1"

        qtbot.mouseClick(server.toggle, Qt.MouseButton.LeftButton)  # try anyway: the failure shows in the page
        qtbot.waitUntil(lambda: not server.busy, timeout=15_000)
        assert not services.api_access.running and not server.toggle.isChecked()
        assert server.status.text() == in_use_message(port), "the switch says why, in the page"
        assert "Traceback" not in server.status.text() and server.status.property("status") == "error"
        assert not window.findChildren(QMessageBox)

        other = free_port()  # typing a free port clears the warning
        server.port.setValue(other)
        server.port.editingFinished.emit()
        qtbot.waitUntil(lambda: server.status.text() == "Stopped", timeout=10_000)
        server.port.setValue(port)  # and typing the held one back brings it back, without a refresh
        server.port.editingFinished.emit()
        qtbot.waitUntil(lambda: server.status.text() == in_use_message(port), timeout=10_000)
        qtbot.waitUntil(lambda: services.settings.get("api_port") == port, timeout=10_000)
    show_page_again(qtbot, window)  # the other program let go
    qtbot.waitUntil(lambda: server.status.text() == "Stopped", timeout=10_000)
    assert server.status.property("status") == ""


def test_a_studio_serve_in_a_terminal_is_reported_and_the_switch_works_once_it_stops(qtbot, window, services,
                                                                                        tmp_path):
    port = free_port()
    services.settings.set("api_port", port)
    env = {**os.environ, "STUDIO_HOME": str(tmp_path)}  # the same home as the window's services
    serve = subprocess.Popen([STUDIO, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert "listening on" in serve.stdout.readline(), serve.stderr.read() if serve.poll() is not None else ""
        page = open_page(qtbot, window)
        server = page.server
        qtbot.waitUntil(lambda: server.status.text() == in_use_message(port), timeout=10_000)
        qtbot.mouseClick(server.toggle, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not server.busy, timeout=15_000)
        assert not server.running and server.status.text() == in_use_message(port)
        assert "Traceback" not in server.status.text()
    finally:
        serve.terminate()
        serve.communicate(timeout=30)
    show_page_again(qtbot, window)
    qtbot.waitUntil(lambda: server.status.text() == "Stopped", timeout=10_000)
    qtbot.mouseClick(server.toggle, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not server.busy, timeout=15_000)
    assert server.running and server.status.text() == f"Running at http://127.0.0.1:{port}/v1"
    qtbot.mouseClick(server.toggle, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not server.busy, timeout=15_000)
    assert not services.api_access.running and server.status.text() == "Stopped"


def test_revoked_key_gets_401_and_leaves_the_table(qtbot, window, services, make_app):
    make_app("Helper")
    page = open_page(qtbot, window)
    port = free_port()
    switch_on(qtbot, page, port)
    url = f"http://127.0.0.1:{port}/v1"
    keep = create_key_in_page(qtbot, page)
    gone = create_key_in_page(qtbot, page)
    dataset = create_key_in_page(qtbot, page, page.keys.knowledge_button)
    assert dataset.startswith("dataset-")
    owners = [page.keys.table.item(r, 0).text() for r in range(page.keys.table.rowCount())]
    assert sorted(owners) == ["Helper", "Helper", "Knowledge bases (dataset key)"]
    assert info(url, gone).status_code == 200

    keys = page.keys
    row = next(r for r in range(keys.table.rowCount()) if keys.table.item(r, 1).text().endswith(gone[-4:]))
    keys.table.selectRow(row)
    assert keys.revoke_button.isEnabled()
    box: QMessageBox = keys.revoke_selected()
    assert gone not in box.text() and gone[-4:] in box.text()
    revoke = next(b for b in box.buttons() if b.text() == "Revoke")
    qtbot.mouseClick(revoke, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(keys.keys) == 2 and keys.busy == 0, timeout=10_000)
    assert keys.table.rowCount() == 2 and "Revoked" in keys.message.text()
    assert info(url, gone).status_code == 401
    assert info(url, keep).status_code == 200


def test_examples_follow_the_app_mode_and_never_hold_a_token(qtbot, window, services, make_app):
    chat = make_app("Helper")
    make_app("Writer", "completion", user_input_form=[{"select": {"variable": "style", "label": "Style",
                                                                  "options": ["short", "long"]}}])
    flow = services.dsl.import_text(WORKFLOW_YAML).app
    token = services.keys.create(chat.id)[1]
    page = open_page(qtbot, window)
    examples, picker = page.examples, page.keys.app_picker

    def pick(name: str) -> str:
        picker.setCurrentIndex(next(i for i in range(picker.count()) if picker.itemText(i).startswith(name)))
        return examples.curl.toPlainText()

    curl = pick("Echo flow")
    assert examples.app.id == flow.id
    assert "/v1/workflows/run'" in curl and '"response_mode": "streaming"' in curl and '"user": "abc-123"' in curl
    assert '"query": "<Question>"' in curl and '"tone": "friendly"' in curl
    assert 'Authorization: Bearer $STUDIO_API_KEY"' in curl
    assert not examples.tabs.isTabEnabled(1), "the openai snippet is for chat apps"

    curl = pick("Writer")
    assert "/v1/completion-messages'" in curl and '"style": "short"' in curl and '"query"' not in curl

    curl = pick("Helper")
    assert "/v1/chat-messages'" in curl and '"query": ' in curl and '"conversation_id": ""' in curl
    python = examples.python.toPlainText()
    assert examples.tabs.isTabEnabled(1) and f'model="{chat.id}"' in python
    assert 'base_url="http://127.0.0.1:5001/v1"' in python and 'os.environ["STUDIO_API_KEY"]' in python
    compile(python, "example.py", "exec")
    for name in ("Echo flow", "Writer", "Helper"):
        pick(name)
        assert all(token not in text and "app-" + token[4:8] not in text for text in examples.texts())


def test_examples_run_as_shown_with_the_key_in_the_environment(qtbot, window, services, make_app):
    chat = make_app("Helper", prompt="Answer in five words.", max_tokens=16)
    services.dsl.import_text(WORKFLOW_YAML)
    page = open_page(qtbot, window)
    switch_on(qtbot, page, free_port())
    picker, examples = page.keys.app_picker, page.examples
    picker.setCurrentIndex(picker.findText("Echo flow", Qt.MatchFlag.MatchStartsWith))
    env = dict(os.environ, STUDIO_API_KEY=services.keys.create(examples.app.id)[1])
    if shutil.which("curl") and shutil.which("bash"):
        ran = subprocess.run(["bash", "-c", examples.curl.toPlainText()], env=env, capture_output=True, text=True,
                             timeout=60)
        assert ran.returncode == 0 and '"event": "workflow_finished"' in ran.stdout
        assert '"answer": "<Question>"' in ran.stdout
    picker.setCurrentIndex(picker.findText("Helper", Qt.MatchFlag.MatchStartsWith))
    env["STUDIO_API_KEY"] = services.keys.create(chat.id)[1]
    ran = subprocess.run([sys.executable, "-c", examples.python.toPlainText()], env=env, capture_output=True,
                         text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.strip(), "the openai snippet printed no answer"


def test_autostart_failure_shows_in_the_status_line_not_a_dialog(qtbot, services):
    services.settings.set("api_autostart", 1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        services.settings.set("api_port", port)
        win = MainWindow(services)
        qtbot.addWidget(win)
        server = win.api_page.server
        qtbot.waitUntil(lambda: bool(server.error), timeout=15_000)
    assert server.status.text() == in_use_message(port) and not services.api_access.running
    assert not win.findChildren(QMessageBox)
    win.close()


def test_autostart_starts_the_server_when_the_window_opens(qtbot, services):
    port = free_port()
    services.settings.set("api_autostart", 1)
    services.settings.set("api_port", port)
    win = MainWindow(services)
    qtbot.addWidget(win)
    win.show_page("api")
    server = win.api_page.server
    qtbot.waitUntil(lambda: server.running and not server.busy, timeout=15_000)
    assert server.autostart_box.isChecked() and server.status.text() == f"Running at http://127.0.0.1:{port}/v1"
    win.close()
    services.api_access.stop()
    assert not services.api_access.running


def test_local_models_checkbox_saves_the_setting(qtbot, window, services):
    page = open_page(qtbot, window)
    box = page.server.local_models_box
    assert not box.isChecked()
    box.setChecked(True)
    qtbot.waitUntil(lambda: services.settings.get("api_local_models") == 1, timeout=10_000)
    box.setChecked(False)
    qtbot.waitUntil(lambda: services.settings.get("api_local_models") == 0, timeout=10_000)


def test_examples_fill_file_inputs_with_an_upload_placeholder(services):
    import yaml

    from studio.ui.api_access.snippets import UPLOAD_ID, request_body

    variables = [{"variable": "doc", "label": "Doc", "type": "file", "allowed_file_types": ["document"]},
                 {"variable": "pics", "label": "Pics", "type": "file-list", "allowed_file_types": ["image"]}]
    nodes = [{"id": "start", "data": {"type": "start", "title": "Start", "variables": variables}},
             {"id": "end", "data": {"type": "end", "title": "End", "outputs": []}}]
    edges = [{"id": "e", "source": "start", "target": "end", "sourceHandle": "source", "targetHandle": "target"}]
    app = services.dsl.import_text(yaml.safe_dump({"version": "0.3.1", "kind": "app", "app": {
        "name": "files", "mode": "workflow"}, "workflow": {"graph": {"nodes": nodes, "edges": edges}}})).app
    inputs = request_body(app)["inputs"]
    assert inputs["doc"] == {"type": "document", "transfer_method": "local_file", "upload_file_id": UPLOAD_ID}
    assert inputs["pics"] == [{"type": "image", "transfer_method": "local_file", "upload_file_id": UPLOAD_ID}]
