"""The API server card: on/off, port, start with Studio, status and base URL; start and stop run on workers."""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QFormLayout, QHBoxLayout, QLineEdit, QSpinBox, QVBoxLayout, QWidget

from studio.services.api_access import in_use_message
from studio.ui.api_access.widgets import CopyButton, Switch, card
from studio.ui.theme import label, set_role

log = logging.getLogger(__name__)
UNAVAILABLE = "The API server is not available in this build of Studio."


class ServerPanel(QWidget):
    state_changed = Signal(bool, str)  # running, base URL (the would-be URL while stopped)

    def __init__(self, services, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.bridge = services, bridge
        self.access = services.api_access
        self.running = False
        self.busy = False
        self.loaded = False
        self.error = ""
        self.in_use = False  # the port field's port is held by another program (probed while stopped)
        self._starts = 0  # counts starts and stops: a reading taken before the latest one began is stale
        self.base_url = ""
        self.saved: dict[str, int] = {}
        # Saving the port and starting (which saves it too) run on different workers; one at a time, in order.
        self._writes = threading.Lock()
        self._make_widgets()
        self._lay_out()

    def _make_widgets(self) -> None:
        self.toggle = Switch()
        self.toggle.setAccessibleName("API server")
        self.toggle.setToolTip("Start or stop the local API server")
        self.toggle.clicked.connect(self.set_on)
        self.state_label = label("Off", "subtle")
        self.status = label("Stopped", "muted", wrap=True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setMinimumWidth(110)
        self.port.setKeyboardTracking(False)
        self.port.setToolTip("The TCP port the server listens on; change it while the server is off")
        self.port.editingFinished.connect(self._port_edited)
        self.autostart_box = QCheckBox("Start with Studio")
        self.autostart_box.setToolTip("Start the API server whenever the Studio window opens")
        self.autostart_box.toggled.connect(lambda on: self._save("api_autostart", int(on)))
        self.local_models_box = QCheckBox("Also list local models")
        self.local_models_box.setToolTip("Let any app key call the local chat models directly on the OpenAI "
                                         "endpoint, as local/<model id> (these chats are not logged)")
        self.local_models_box.toggled.connect(lambda on: self._save("api_local_models", int(on)))
        self.url = QLineEdit()
        self.url.setReadOnly(True)
        self.url.setMinimumWidth(280)
        self.url.setMaximumWidth(420)
        self.copy_url = CopyButton(lambda: self.url.text(), tip="Copy the base URL")

    def _lay_out(self) -> None:
        frame, column = card("API SERVER")
        column.addWidget(label("Scripts and other programs on this computer call your apps here, as they would "
                               "call Dify's service API. It listens on 127.0.0.1 only, and every request "
                               "needs a key.", "muted", wrap=True))
        form = QFormLayout()
        form.setHorizontalSpacing(24)
        form.setVerticalSpacing(10)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.addRow("Server", _row(self.toggle, self.state_label, 12, self.status, stretch=self.status))
        form.addRow("Port", _row(self.port, 16, self.autostart_box, 16, self.local_models_box))
        form.addRow("Base URL", _row(self.url, self.copy_url))
        column.addLayout(form)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)

    # -- state -------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the server state and the two preferences on a worker (the port comes from the database); while the
        server is stopped, also probe whether another program holds the port, as starting there would fail."""
        if self.access is None:
            self._show_unavailable()
            return
        settings, access = self.services.settings, self.access

        def read() -> dict:
            running, port = access.running, access.port
            return {"running": running, "url": access.url, "port": port,
                    "in_use": not running and access.port_in_use(port),
                    "autostart": int(settings.get("api_autostart")),
                    "local_models": int(settings.get("api_local_models"))}
        starts = self._starts
        self.bridge.call(read, lambda state: self._show_state(state, fresh=starts == self._starts), self._show_error)

    def _show_state(self, state: dict, fresh: bool = True) -> None:
        self.loaded = True
        self.saved = {"api_port": state["port"], "api_autostart": state["autostart"],
                      "api_local_models": state["local_models"]}
        for widget, setter, value in ((self.port, self.port.setValue, state["port"]),
                                      (self.autostart_box, self.autostart_box.setChecked, bool(state["autostart"])),
                                      (self.local_models_box, self.local_models_box.setChecked,
                                       bool(state["local_models"]))):
            widget.blockSignals(True)
            setter(value)
            widget.blockSignals(False)
        if not self.busy and fresh:
            self.error = ""  # a fresh reading replaces what an earlier start or stop said
            self.in_use = state["in_use"]
            self._set_running(state["running"], state["url"])

    def _show_unavailable(self) -> None:
        for widget in (self.toggle, self.port, self.autostart_box, self.local_models_box, self.copy_url):
            widget.setEnabled(False)
        self._show_error(UNAVAILABLE)

    def _set_running(self, running: bool, url: str) -> None:
        self.running, self.base_url = running, url
        self.toggle.setChecked(running)
        self.state_label.setText("On" if running else "Off")
        self.url.setText(url)
        self.port.setEnabled(not running and not self.busy)
        self.toggle.setEnabled(not self.busy)
        if running:
            self._status(f"Running at {url}", "saved")
        elif self.error:
            self._status(self.error, "error")
        elif self.in_use:
            self._status(in_use_message(self.port.value()), "error")
        else:
            self._status("Stopped", "")
        self.state_changed.emit(running, url)

    def _status(self, text: str, status: str) -> None:
        self.status.setText(text)
        set_role(self.status, "status", status)

    def _show_error(self, message: str) -> None:
        self.error = message
        self._status(message, "error")

    # -- start and stop ----------------------------------------------------------------------------
    def set_on(self, on: bool) -> None:
        if on:
            self.start(self.port.value())
        else:
            self.stop()

    def start(self, port: int | None = None) -> None:
        """Start on `port` (None: the saved preference); a failure shows in the status line."""
        if self.access is None or self.busy:
            return
        self._begin("Starting…")
        services, access = self.services, self.access
        self.bridge.call(lambda: self._locked(access.start, services, port=port), self._started, self._start_failed)

    def stop(self) -> None:
        if self.access is None or self.busy:
            return
        self._begin("Stopping…")
        self.bridge.call(self.access.stop, lambda _none: self._stopped(), self._stop_failed)

    def autostart(self) -> None:
        """Called when the window opens: start the server if the preference says so."""
        if self.access is None:
            return
        self.bridge.call(lambda: int(self.services.settings.get("api_autostart")),
                         lambda on: on and self.start(), lambda message: log.warning("autostart: %s", message))

    def _begin(self, text: str) -> None:
        self.busy = True
        self._starts += 1
        self.error = ""
        self.in_use = False
        self.toggle.setEnabled(False)
        self.port.setEnabled(False)
        self._status(text, "")

    def _started(self, url: str) -> None:
        self.busy = False
        self.saved["api_port"] = self.access.port
        self._set_running(True, url)
        self.refresh()  # the port field follows the preference the start saved

    def _start_failed(self, message: str) -> None:
        self.busy = False
        self.error = message
        self._set_running(False, self.access.url_for(self.port.value()))

    def _stopped(self) -> None:
        self.busy = False
        self._set_running(False, self.access.url_for(self.port.value()))

    def _stop_failed(self, message: str) -> None:
        self.busy = False
        self.error = message
        self._set_running(self.access.running, self.access.url)

    # -- preferences -------------------------------------------------------------------------------
    def _port_edited(self) -> None:
        port = self.port.value()
        if not self.running and not self.busy:
            self.url.setText(self.access.url_for(port))
            self._probe(port)
        self._save("api_port", port)

    def _probe(self, port: int) -> None:
        """Check on a worker whether another program holds `port`, and say so in the status line."""
        access, starts = self.access, self._starts

        def show(in_use: bool) -> None:
            if self.running or self.busy or starts != self._starts or self.port.value() != port:
                return  # the answer is stale: a start or stop came in between, or the port changed again
            self.error, self.in_use = "", in_use
            self._set_running(False, access.url_for(port))
        self.bridge.call(lambda: access.port_in_use(port), show, lambda message: log.warning("probe: %s", message))

    def _save(self, key: str, value: int) -> None:
        if not self.loaded or self.saved.get(key) == value:
            return
        self.saved[key] = value
        self.bridge.call(lambda: self._locked(self.services.settings.set, key, value), None, self._save_failed)

    def _locked(self, fn, *args, **kwargs):
        with self._writes:
            return fn(*args, **kwargs)

    def _save_failed(self, message: str) -> None:
        self.saved.clear()
        self._show_error(message)


def _row(*items, stretch: QWidget | None = None) -> QHBoxLayout:
    """Widgets side by side, ints as spacing; `stretch` takes the spare width, or a trailing stretch does."""
    row = QHBoxLayout()
    row.setSpacing(8)
    row.setContentsMargins(0, 0, 0, 0)
    for item in items:
        if isinstance(item, int):
            row.addSpacing(item)
        else:
            row.addWidget(item, 1 if item is stretch else 0, Qt.AlignmentFlag.AlignVCenter)
    if stretch is None:
        row.addStretch(1)
    return row
