"""Document-extractor node: the text of a file (a string) or of a list of files (an array of strings)."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import Field

from studio.core.files import is_file, normalise_extension
from studio.workflow.files import FileReadError, load_bytes
from studio.workflow.node import Node, NodeConfig, NodeError, NodeResult, RunContext, Selector, register
from studio.workflow.nodes.document_extractor.extractors import ExtractionError, extract
from studio.workflow.variables import VariableNotFoundError

log = logging.getLogger(__name__)
MAX_DOCUMENT_BYTES = 100 * 1024 * 1024


class DocumentExtractorConfig(NodeConfig):
    variable_selector: list[str] = Field(default_factory=list)
    is_array_file: bool = False  # UI hint


def text_of(file: dict[str, Any]) -> str:
    """Read one file value and extract its text; failures name the file."""
    name = file.get("name") or file.get("path") or file.get("url") or "file"
    try:
        content = load_bytes(file, max_bytes=MAX_DOCUMENT_BYTES)
    except FileReadError as exc:
        raise NodeError(str(exc), "FileDownloadError") from None
    try:
        return extract(content, normalise_extension(file.get("extension")), file.get("mime_type") or "")
    except ExtractionError as exc:
        raise NodeError(f"{name}: {exc}", exc.error_type) from None


@register
class DocumentExtractorNode(Node):
    type = "document-extractor"
    Config = DocumentExtractorConfig

    def references(self) -> list[Selector]:
        return [self.config.variable_selector] if self.config.variable_selector else []

    def run(self, ctx: RunContext) -> NodeResult:
        selector = self.config.variable_selector
        try:
            value = ctx.pool.get(selector)
        except VariableNotFoundError:
            raise NodeError(f"File variable not found for selector: {selector}", "DocumentExtractorError") from None
        inputs = {"variable_selector": selector}
        if isinstance(value, list):
            if not all(is_file(f) for f in value):
                raise NodeError(f"Variable {selector} is not an array of files", "DocumentExtractorError")
            texts = [text_of(f) for f in value]
            return NodeResult(outputs={"text": texts}, inputs=inputs, process_data={"documents": value})
        if not is_file(value):
            raise NodeError(f"Variable {selector} is not a file", "DocumentExtractorError")
        return NodeResult(outputs={"text": text_of(value)}, inputs=inputs, process_data={"documents": [value]})
