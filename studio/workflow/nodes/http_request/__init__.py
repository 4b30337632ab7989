"""HTTP-request node: a templated request sent with httpx; outputs status_code, body, headers and files (a binary or
attachment response is saved under the run's files folder)."""

from __future__ import annotations

import logging

from studio.workflow.files import files_dir, save_bytes
from studio.workflow.node import Node, NodeError, NodeResult, RunContext, Selector, register
from studio.workflow.nodes.http_request.config import HttpRequestConfig, Timeout
from studio.workflow.nodes.http_request.request import build, to_log
from studio.workflow.nodes.http_request.response import file_name_and_type, send
from studio.workflow.variables import selectors_in

log = logging.getLogger(__name__)


@register
class HttpRequestNode(Node):
    type = "http-request"
    Config = HttpRequestConfig

    def references(self) -> list[Selector]:
        c = self.config
        refs = selectors_in(c.url) + selectors_in(c.headers) + selectors_in(c.params)
        if c.authorization.config is not None:
            refs += selectors_in(c.authorization.config.api_key or "")
        for item in c.body.data if c.body else []:
            refs += selectors_in(item.key) + selectors_in(item.value)
            if item.type == "file" and item.file:
                refs.append(item.file)
        return refs

    def run(self, ctx: RunContext) -> NodeResult:
        c = self.config
        request = build(c, ctx.pool)
        process_data = {"request": to_log(request, c.body.type if c.body else None)}
        response = send(request, timeout=(c.timeout or Timeout()).seconds(), verify=c.ssl_verify is not False,
                        cancel=ctx.cancel)
        files = []
        if response.is_file:
            name, mime = file_name_and_type(response, request.url)
            files.append(save_bytes(files_dir(ctx.files_dir), response.content, name=name, mime_type=mime))
        outputs = {"status_code": response.status_code, "body": "" if files else response.text,
                   "headers": response.headers, "files": files}
        result = NodeResult(outputs=outputs, process_data=process_data)
        # As in Dify, a non-2xx status is a failure only for a node that handles failures (strategy or retry).
        if not 200 <= response.status_code < 300 and (c.error_strategy or c.retry_config.retry_enabled):
            log.info("http-request %s: status %s", self.id, response.status_code)
            raise NodeError(f"Request failed with status code {response.status_code}", "HTTPResponseCodeError",
                            partial=result)
        return result
