"""Dify DSL (YAML) reading and version rules; no engine imports, only core types."""
