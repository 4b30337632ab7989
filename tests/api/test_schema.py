"""schemathesis against the published OpenAPI schema, over real HTTP: no 500s, and every response (status, content
type, body) matches what the schema documents."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from studio.api.app import create_app
from tests.api.flows import ECHO, code_workflow

pytestmark = pytest.mark.slow
schema = schemathesis.openapi.from_dict(create_app(None).openapi())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """One server for every generated case: an app of each runnable kind (tiny answers) and a key for each."""
    from studio.app import build
    from studio.core.settings import Settings

    services = build(Settings(home=tmp_path_factory.mktemp("schema-home")))
    chat = services.apps.create("Schema chat", "chat", prompt="Answer in one word.")
    params = {**chat.config["model"], "completion_params": {"max_tokens": 4, "temperature": 0.0}}
    chat = services.apps.update(chat.id, config={**chat.config, "model": params})
    completion = services.apps.create("Schema text", "completion", prompt="One word:")
    completion = services.apps.update(completion.id, config={**completion.config, "model": params})
    flow = services.dsl.import_text(code_workflow("schema-flow", ECHO)).app
    keys = {name: services.keys.create(app.id)[1] for name, app in
            (("chat", chat), ("completion", completion), ("workflow", flow))}
    keys["dataset"] = services.keys.create(None, scope="dataset")[1]
    server = services.api_access.build(services, port=0)
    url = server.start()
    yield url, keys
    server.stop()
    services.close()


def _key_for(path: str, keys: dict[str, str]) -> str:
    if path.startswith("/v1/datasets"):
        return keys["dataset"]
    if path.startswith("/v1/workflows"):
        return keys["workflow"]
    if path.startswith("/v1/completion-messages"):
        return keys["completion"]
    return keys["chat"]


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_matches_its_schema(case, live):
    url, keys = live
    base = url.removesuffix("/v1")
    case.call_and_validate(base_url=base, headers={"Authorization": f"Bearer {_key_for(case.path, keys)}"},
                           checks=CHECKS, timeout=120)
