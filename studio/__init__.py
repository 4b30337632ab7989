"""Studio: a desktop LLMOps studio that designs, tests and serves LLM apps offline."""

__version__ = "0.1.0"
