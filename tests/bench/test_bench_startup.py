"""Cold start: a new process until the main window is visible, without loading a model."""

import os
import statistics
import subprocess
import sys
import time

SCRIPT = r"""
import sys
from PySide6.QtWidgets import QApplication
from studio.app import build
from studio.ui.main_window import MainWindow
app = QApplication(sys.argv[:1])
services = build()
window = MainWindow(services)
window.show()
app.processEvents()
assert window.isVisible()
print("visible", flush=True)
window.close()
services.close()
"""


def test_cold_start_to_visible_window(tmp_path, report):
    env = {**os.environ, "STUDIO_HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    subprocess.run([sys.executable, "-c", SCRIPT], env=env, check=True, capture_output=True)  # first run migrates
    times = []
    for _ in range(5):
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", SCRIPT], env=env, stdout=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        times.append(time.perf_counter() - start)
        proc.wait(timeout=60)
        assert line.strip() == "visible"
    bare = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import PySide6.QtWidgets"], check=True)
        bare.append(time.perf_counter() - start)
    report(f"cold start to visible main window: median {statistics.median(times) * 1000:.0f} ms, "
           f"best {min(times) * 1000:.0f} ms (python + import PySide6.QtWidgets alone: "
           f"{statistics.median(bare) * 1000:.0f} ms)")
    assert statistics.median(times) < 10, "a start this slow means something is badly wrong"
