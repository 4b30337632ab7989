"""The API Access page and its parts: the local server, API keys and request examples."""
