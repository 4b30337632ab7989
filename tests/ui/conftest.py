"""Fixtures for the GUI tests: real services on a temp home, a main window, and a check for leftover threads."""

from __future__ import annotations

import json
import sys
import threading

import pytest
from PySide6.QtCore import QThreadPool, QTimer

from studio.app import build
from studio.core.app_config import default_config
from studio.core.entities import AppMode
from studio.core.settings import Settings
from studio.ui.main_window import MainWindow
from studio.ui.theme import apply_theme

THREAD_GRACE_SECONDS = 5.0
# lancedb runs one process-wide asyncio loop thread, started on first use and kept for the life of the process.
PROCESS_THREADS = ("LanceDBBackgroundEventLoop",)


def leftover_threads(before: set[threading.Thread], grace: float = THREAD_GRACE_SECONDS) -> list[threading.Thread]:
    """Threads started since `before` that are still alive after a short grace period to wind down."""
    extra = [t for t in threading.enumerate() if t not in before and t.name not in PROCESS_THREADS]
    for t in extra:
        t.join(timeout=grace / max(1, len(extra)))
    return [t for t in extra if t.is_alive()]


@pytest.fixture(scope="session")
def qapp_args(tmp_path_factory):
    """Offscreen, with a laptop-sized screen: the default 800x800 one would clamp restored window sizes."""
    config = tmp_path_factory.mktemp("qt") / "offscreen.json"
    screen = {"name": "test", "x": 0, "y": 0, "width": 1600, "height": 1000, "logicalDpi": 96,
              "logicalBaseDpi": 96, "dpr": 1}
    config.write_text(json.dumps({"screens": [screen]}), encoding="utf-8")
    return [sys.argv[0], "-platform", f"offscreen:configfile={config}"]


@pytest.fixture(name="leftover_threads")
def leftover_threads_fixture():
    return leftover_threads


@pytest.fixture(autouse=True)
def no_leftover_threads(qapp):
    """Fail a test that leaves Python threads or Qt pool work running (it is set up first, so it checks last)."""
    before = set(threading.enumerate())
    yield
    alive = leftover_threads(before)
    assert not alive, f"the test left threads running: {[t.name for t in alive]}"
    assert QThreadPool.globalInstance().waitForDone(2000), "the test left QThreadPool work running"


@pytest.fixture(scope="session", autouse=True)
def themed_app(qapp):
    apply_theme(qapp)
    return qapp


@pytest.fixture
def services(tmp_path):
    # One llama.cpp thread: on a shared 2-core machine two spinning threads plus the Qt thread slow every
    # token (and so Stop) by an order of magnitude whenever anything else runs.
    services = build(Settings(home=tmp_path, n_threads=1))
    yield services
    services.close()


@pytest.fixture
def window(qtbot, services):
    win = MainWindow(services)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    running = [t for t in win.findChildren(QTimer) if t.isActive()]
    assert not running, f"timers still running after the window closed: {[t.objectName() for t in running]}"


@pytest.fixture
def make_app(services):
    """Create an app through the services, for tests that are not about creating apps."""

    def make(name: str = "Bot", mode: str = "chat", *, prompt: str = "You are a helpful assistant.",
             temperature: float = 0.0, max_tokens: int = 64, stop: tuple[str, ...] = (), **extra):
        config = default_config(AppMode(mode), prompt)
        config["model"]["completion_params"].update(temperature=temperature, max_tokens=max_tokens, stop=list(stop))
        config.update(extra)
        return services.apps.create(name, mode, config=config)

    return make
