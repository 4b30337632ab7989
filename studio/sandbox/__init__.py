"""Sandbox engine: runs code-node code in confined child processes (see README.md for the threat model)."""

from studio.sandbox.runner import SandboxRunner

__all__ = ["SandboxRunner"]
