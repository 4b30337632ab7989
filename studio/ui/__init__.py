"""The Qt desktop interface; the only package that imports PySide6, and it calls studio.services only."""
