"""The DSL parts of the app pages: export, the header's app menu, the problems banner, drop feedback and toasts."""
