"""Where the window remembers itself: an INI file inside the Studio home, never the user's global Qt settings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

UI_STATE_FILE = "ui.ini"


def ui_settings(services) -> QSettings:
    path = Path(services.settings.startup.home) / UI_STATE_FILE
    return QSettings(str(path), QSettings.Format.IniFormat)
