"""The knowledge (datasets) API over real HTTP against real services: the bundled embedding model, LanceDB and
background ingestion. Request shapes are the ones Dify's Python SDK sends (its KnowledgeBaseClient, 0.1.12)."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from dify_client import DifyClient

from tests.api.conftest import auth

pytestmark = pytest.mark.slow

ZEBRA = ("Zebras are African equines with distinctive black-and-white striped coats. They live in herds on the "
         "savanna and graze on grass. Their stripes may deter biting flies.")
VOLCANO = ("A volcano is a rupture in the crust of a planet where lava, ash and gases escape from a magma chamber "
           "below the surface. Eruptions can build mountains over thousands of years.")
FULL_TEXT = {"search_method": "full_text_search", "reranking_enable": False, "top_k": 4}
SOURDOUGH = ("Sourdough bread rises with a starter of wild yeast and lactic acid bacteria instead of baker's yeast, "
             "which gives the loaf its tangy flavour.")


@pytest.fixture
def dataset_key(services) -> str:
    return services.keys.create(None, scope="dataset")[1]


@pytest.fixture
def kb(api, dataset_key):
    """An httpx client with the dataset key, and a fresh empty knowledge base."""
    with httpx.Client(base_url=api, timeout=120, headers=auth(dataset_key)) as client:
        r = client.post("/datasets", json={"name": "Notes"})
        assert r.status_code == 200, r.text
        yield client, r.json()


def wait_indexed(client: httpx.Client, dataset_id: str, batch: str, timeout: float = 90.0) -> dict:
    """Poll indexing-status as a Dify script does until the document is completed (or failed)."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/datasets/{dataset_id}/documents/{batch}/indexing-status")
        assert r.status_code == 200, r.text
        status = r.json()["data"][0]
        if status["indexing_status"] in ("completed", "error") or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def add_text(client: httpx.Client, dataset_id: str, name: str, text: str, path: str = "create-by-text") -> dict:
    body = {"indexing_technique": "high_quality", "process_rule": {"mode": "automatic"}, "name": name, "text": text}
    r = client.post(f"/datasets/{dataset_id}/document/{path}", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["batch"] and out["document"]["name"] == name
    assert out["document"]["indexing_status"] in ("waiting", "parsing", "indexing", "completed")
    status = wait_indexed(client, dataset_id, out["batch"])
    assert status["indexing_status"] == "completed", status
    assert status["completed_segments"] == status["total_segments"] >= 1
    return out["document"]


def retrieve(client: httpx.Client, dataset_id: str, query: str, path: str = "retrieve", **extra) -> list[dict]:
    r = client.post(f"/datasets/{dataset_id}/{path}", json={"query": query, **extra})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["query"] == {"content": query}
    return body["records"]


@pytest.fixture
def two_docs(kb):
    """The knowledge base with a zebra and a volcano document, both indexed."""
    client, dataset = kb
    ds = dataset["id"]
    assert dataset["indexing_technique"] == "high_quality" and dataset["embedding_model"] == "all-minilm-l6-v2"
    assert dataset["embedding_available"] is True and dataset["document_count"] == 0
    assert isinstance(dataset["created_at"], int) and dataset["retrieval_model_dict"]["top_k"] == 4
    zebra = add_text(client, ds, "Zebras", ZEBRA)
    volcano = add_text(client, ds, "Volcanoes", VOLCANO, path="create_by_text")  # Dify's older spelling
    return client, ds, zebra, volcano


def test_documents_list_retrieve_and_delete(two_docs, home):
    client, ds, zebra, volcano = two_docs
    stored = home / "files" / "knowledge" / ds  # where the texts sent were kept for ingestion
    assert (stored / zebra["id"] / "Zebras.txt").read_text() == ZEBRA
    listed = client.get(f"/datasets/{ds}/documents", params={"page": 1, "limit": 1}).json()
    assert listed["total"] == 2 and listed["has_more"] is True and listed["limit"] == 1 and listed["page"] == 1
    assert listed["data"][0]["id"] == volcano["id"]  # newest first, as in Dify
    assert listed["data"][0]["display_status"] == "available"
    found = client.get(f"/datasets/{ds}/documents", params={"keyword": "zeb"}).json()
    assert [d["id"] for d in found["data"]] == [zebra["id"]]
    detail = client.get(f"/datasets/{ds}/documents/{zebra['id']}").json()
    assert detail["indexing_status"] == "completed" and detail["segment_count"] >= 1
    assert client.get(f"/datasets/{ds}").json()["document_count"] == 2

    top = retrieve(client, ds, "striped animals grazing on the savanna")[0]
    assert top["segment"]["document"]["id"] == zebra["id"] and top["segment"]["document"]["name"] == "Zebras"
    assert "Zebras" in top["segment"]["content"] and top["tsne_position"] is None and top["score"] > 0
    assert retrieve(client, ds, "lava and magma eruptions", path="hit-testing")[0]["segment"]["document_id"] == \
        volcano["id"]

    assert retrieve(client, ds, "zebras stripes", retrieval_model=FULL_TEXT)[0]["segment"]["document_id"] == \
        zebra["id"]
    assert client.delete(f"/datasets/{ds}/documents/{zebra['id']}").status_code == 204
    assert client.get(f"/datasets/{ds}/documents").json()["total"] == 1
    assert client.get(f"/datasets/{ds}/documents/{zebra['id']}").status_code == 404
    assert retrieve(client, ds, "zebras stripes", retrieval_model=FULL_TEXT) == []
    assert not (stored / zebra["id"]).exists() and (stored / volcano["id"]).exists()

    assert client.delete(f"/datasets/{ds}").status_code == 204
    assert not stored.exists()
    r = client.get(f"/datasets/{ds}")
    assert r.status_code == 404 and r.json() == {"code": "not_found", "message": "Dataset not found.", "status": 404}


def test_segments_list_add_update_disable_delete(two_docs):
    client, ds, zebra, _ = two_docs
    base = f"/datasets/{ds}/documents/{zebra['id']}/segments"
    segments = client.get(base).json()
    assert segments["doc_form"] == "text_model" and segments["total"] == len(segments["data"]) >= 1
    assert segments["data"][0]["status"] == "completed"

    r = client.post(base, json={"segments": [{"content": SOURDOUGH, "answer": "", "keywords": []}]})
    assert r.status_code == 200, r.text
    added = r.json()["data"][0]
    assert added["content"] == SOURDOUGH and added["position"] == segments["total"] + 1
    assert retrieve(client, ds, "bread made with a wild yeast starter")[0]["segment"]["id"] == added["id"]

    new_text = "Zebra foals can stand and walk within an hour of birth."
    r = client.post(f"{base}/{added['id']}",
                    json={"segment": {"content": new_text, "answer": "", "keywords": [], "enabled": True}})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["content"] == new_text
    assert retrieve(client, ds, "how soon can a newborn foal walk")[0]["segment"]["id"] == added["id"]
    assert not retrieve(client, ds, "sourdough", retrieval_model=FULL_TEXT)  # the old words left the index
    assert [r["segment"]["id"] for r in retrieve(client, ds, "foals", retrieval_model=FULL_TEXT)] == [added["id"]]

    r = client.post(f"{base}/{added['id']}", json={"segment": {"enabled": False}})
    assert r.status_code == 200 and r.json()["data"]["enabled"] is False
    assert retrieve(client, ds, "foals", retrieval_model=FULL_TEXT) == []

    assert client.delete(f"{base}/{added['id']}").status_code == 204
    r = client.get(f"{base}/{added['id']}")
    assert r.status_code == 404 and r.json()["message"] == "Segment not found."
    assert client.get(base).json()["total"] == segments["total"]


def test_datasets_list_update_and_duplicate_names(kb):
    client, dataset = kb
    ds = dataset["id"]
    other = client.post("/datasets", json={"name": "Recipes", "description": "Kitchen notes",
                                           "retrieval_model": {"search_method": "semantic_search", "top_k": 2,
                                                               "reranking_enable": False}}).json()
    assert other["retrieval_model_dict"]["search_method"] == "semantic_search"
    assert other["retrieval_model_dict"]["top_k"] == 2
    page = client.get("/datasets", params={"page": 1, "limit": 20}).json()
    assert page["total"] == 2 and page["has_more"] is False and {d["id"] for d in page["data"]} == {ds, other["id"]}
    assert [d["name"] for d in client.get("/datasets", params={"keyword": "reci"}).json()["data"]] == ["Recipes"]

    r = client.patch(f"/datasets/{ds}", json={"name": "Field notes", "description": "From the trip",
                                              "retrieval_model": {"search_method": "full_text_search", "top_k": 3}})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["description"]) == ("Field notes", "From the trip")
    assert r.json()["retrieval_model_dict"]["search_method"] == "full_text_search"

    r = client.post("/datasets", json={"name": "recipes"})
    assert r.status_code == 409 and r.json()["code"] == "dataset_name_duplicate"
    r = client.patch(f"/datasets/{ds}", json={"name": "Recipes"})
    assert r.status_code == 409


def test_create_by_file_with_a_custom_process_rule(kb):
    client, dataset = kb
    ds = dataset["id"]
    text = "\n\n".join([f"## Part {n}\n\n" + (VOLCANO if n % 2 else ZEBRA) for n in range(6)])
    rule = {"mode": "custom", "rules": {"pre_processing_rules": [{"id": "remove_extra_spaces", "enabled": True}],
                                        "segmentation": {"separator": "\n\n", "max_tokens": 200,
                                                         "chunk_overlap": 0}}}
    data = {"indexing_technique": "high_quality", "process_rule": rule, "doc_form": "text_model"}
    r = client.post(f"/datasets/{ds}/document/create-by-file",
                    files={"file": ("field-guide.md", text.encode(), "text/markdown")}, data={"data": json.dumps(data)})
    assert r.status_code == 200, r.text
    doc = r.json()["document"]
    assert doc["name"] == "field-guide.md" and r.json()["batch"] == doc["id"]
    assert wait_indexed(client, ds, doc["id"])["indexing_status"] == "completed"
    detail = client.get(f"/datasets/{ds}/documents/{doc['id']}").json()
    assert detail["dataset_process_rule"]["rules"]["segmentation"]["max_tokens"] == 200
    segments = client.get(f"/datasets/{ds}/documents/{doc['id']}/segments", params={"limit": 100}).json()
    assert segments["total"] >= 6 and all(len(s["content"]) <= 200 for s in segments["data"])
    # The knowledge base keeps one chunking rule: a different explicit rule for a later document is refused.
    other = {**rule, "rules": {**rule["rules"], "segmentation": {"separator": "\n", "max_tokens": 300}}}
    r = client.post(f"/datasets/{ds}/document/create-by-text", json={"name": "x", "text": "y", "process_rule": other})
    assert r.status_code == 400 and r.json()["code"] == "invalid_param"


def test_knowledge_api_errors(kb):
    client, dataset = kb
    ds = dataset["id"]
    missing = str(uuid.uuid4())
    for method, path in (("GET", f"/datasets/{missing}"), ("GET", f"/datasets/{missing}/documents"),
                         ("POST", f"/datasets/{missing}/retrieve"), ("DELETE", f"/datasets/{missing}")):
        r = client.request(method, path, json={"query": "anything"} if method == "POST" else None)
        assert r.status_code == 404 and r.json() == {"code": "not_found", "message": "Dataset not found.",
                                                     "status": 404}, (method, path)
    r = client.get(f"/datasets/{ds}/documents/{missing}/indexing-status")
    assert r.status_code == 404 and r.json()["code"] == "not_found"

    r = client.post(f"/datasets/{ds}/retrieve", json={"query": "x" * 251})
    assert r.status_code == 400 and r.json()["code"] == "invalid_param" and "250" in r.json()["message"]
    assert client.post(f"/datasets/{ds}/retrieve", json={"query": "x" * 250}).status_code == 200

    r = client.post("/datasets", json={"name": "Cheap", "indexing_technique": "economy"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_param" and "economy" in r.json()["message"]
    r = client.post(f"/datasets/{ds}/document/create-by-text",
                    json={"name": "n", "text": "t", "indexing_technique": "economy"})
    assert r.status_code == 400 and "economy" in r.json()["message"]
    r = client.post("/datasets", json={"name": "Cloud", "embedding_model": "text-embedding-3-small",
                                       "embedding_model_provider": "openai"})
    assert r.status_code == 400 and "all-minilm-l6-v2" in r.json()["message"]


def test_upload_errors_and_keys(api, kb, chat_key, home):
    client, dataset = kb
    ds = dataset["id"]
    r = client.post(f"/datasets/{ds}/document/create-by-file", files={"file": ("tool.exe", b"MZ", "application/x")})
    assert r.status_code == 415 and r.json()["code"] == "unsupported_file_type"
    big = b"a" * (15 * 1024 * 1024 + 1)
    r = client.post(f"/datasets/{ds}/document/create-by-file", files={"file": ("big.txt", big, "text/plain")})
    assert r.status_code == 413 and r.json()["code"] == "file_too_large"
    r = client.post(f"/datasets/{ds}/document/create-by-file", data={"data": "{}"})
    assert r.status_code == 400 and r.json()["code"] == "no_file_uploaded"
    assert client.get(f"/datasets/{ds}/documents").json()["total"] == 0  # nothing was left behind
    assert not [p for p in (home / "files").rglob("*") if p.is_file()]

    r = httpx.get(f"{api}/datasets", headers=auth(chat_key))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = httpx.get(f"{api}/datasets")
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    assert r.headers["www-authenticate"] == 'Bearer realm="api"'
    r = httpx.get(f"{api}/datasets", headers=auth("dataset-" + "x" * 24))
    assert r.status_code == 401


def _sdk(api: str, key: str) -> DifyClient:
    client = DifyClient(key)
    client.base_url = api  # dify-client 0.1.10's way to reach a self-hosted server
    return client


def _sdk_wait(sdk: DifyClient, ds: str, batch: str, timeout: float = 90.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = sdk._send_request("GET", f"/datasets/{ds}/documents/{batch}/indexing-status").json()
        state = status["data"][0]["indexing_status"]
        if state in ("completed", "error") or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def _sdk_segments(sdk: DifyClient, base: str) -> None:
    """KnowledgeBaseClient's add_segments, query_segments, update_document_segment and delete_document_segment."""
    added = sdk._send_request("POST", base, json={"segments": [{"content": SOURDOUGH, "answer": "",
                                                                "keyword": ["bread"]}]})
    seg = added.json()["data"][0]
    listed = sdk._send_request("GET", base, params={"keyword": "starter", "status": "completed"}).json()
    assert [s["id"] for s in listed["data"]] == [seg["id"]]
    updated = sdk._send_request("POST", f"{base}/{seg['id']}", json={"segment": {
        "content": SOURDOUGH + " Bake it hot.", "answer": "", "keyword": [], "enabled": True}})
    assert updated.json()["data"]["content"].endswith("Bake it hot.")
    assert sdk._send_request("DELETE", f"{base}/{seg['id']}").status_code == 204


def test_dify_sdk_transport_with_knowledge_base_client_shapes(api, dataset_key, tmp_path):
    """dify-client 0.1.10 predates KnowledgeBaseClient, so its transport (`requests`, its headers, its multipart)
    sends the requests that KnowledgeBaseClient 0.1.12's methods build, field for field."""
    sdk = _sdk(api, dataset_key)
    created = sdk._send_request("POST", "/datasets", {"name": "SDK knowledge"})
    assert created.status_code == 200, created.text
    ds = created.json()["id"]
    assert sdk._send_request("GET", "/datasets", params={"page": 1, "limit": 20}).json()["total"] == 1

    by_text = sdk._send_request("POST", f"/datasets/{ds}/document/create_by_text", json={
        "indexing_technique": "high_quality", "process_rule": {"mode": "automatic"}, "name": "Volcanoes",
        "text": VOLCANO})
    assert by_text.status_code == 200, by_text.text
    path = tmp_path / "zebras.txt"
    path.write_text(ZEBRA)
    with path.open("rb") as fh:
        data = {"process_rule": {"mode": "automatic"}, "indexing_technique": "high_quality"}
        by_file = sdk._send_request_with_files("POST", f"/datasets/{ds}/document/create_by_file",
                                               {"data": json.dumps(data)}, {"file": fh})
    assert by_file.status_code == 200, by_file.text
    for batch in (by_text.json()["batch"], by_file.json()["batch"]):
        assert _sdk_wait(sdk, ds, batch) == "completed"

    docs = sdk._send_request("GET", f"/datasets/{ds}/documents", params={"page": 1, "limit": 20}).json()
    zebra = next(d for d in docs["data"] if d["name"] == "zebras.txt")
    _sdk_segments(sdk, f"/datasets/{ds}/documents/{zebra['id']}/segments")
    hits = sdk._send_request("POST", f"/datasets/{ds}/hit-testing", json={
        "query": "which document talks about lava", "retrieval_model": {
            "search_method": "semantic_search", "reranking_enable": False, "top_k": 2,
            "score_threshold_enabled": False}}).json()
    assert hits["records"][0]["segment"]["document"]["name"] == "Volcanoes" and len(hits["records"]) <= 2

    assert sdk._send_request("DELETE", f"/datasets/{ds}/documents/{zebra['id']}").status_code == 204
    assert sdk._send_request("DELETE", f"/datasets/{ds}").status_code == 204
    assert sdk._send_request("GET", f"/datasets/{ds}").status_code == 404


@pytest.fixture
def nature_doc(kb):
    """A parent-child document with front matter (author: alice), indexed."""
    client, dataset = kb
    ds = dataset["id"]
    rule = {"mode": "hierarchical", "rules": {
        "pre_processing_rules": [{"id": "remove_extra_spaces", "enabled": True}],
        "segmentation": {"separator": "\n\n", "max_tokens": 1000}, "parent_mode": "paragraph",
        "subchunk_segmentation": {"separator": ". ", "max_tokens": 60, "chunk_overlap": 0}}}
    text = "---\nauthor: alice\n---\n\n" + ZEBRA + "\n\n" + VOLCANO
    r = client.post(f"/datasets/{ds}/document/create-by-file", files={"file": ("nature.md", text.encode())},
                    data={"data": json.dumps({"doc_form": "hierarchical_model", "process_rule": rule})})
    assert r.status_code == 200, r.text
    doc = r.json()["document"]
    assert doc["doc_form"] == "hierarchical_model"
    assert wait_indexed(client, ds, doc["id"])["indexing_status"] == "completed"
    return client, ds, doc


def test_parent_child_chunks(nature_doc):
    client, ds, doc = nature_doc
    base = f"/datasets/{ds}/documents/{doc['id']}/segments"
    parents = client.get(base).json()["data"]
    assert parents and all(p["child_chunks"] for p in parents)
    parent = next(p for p in parents if "magma" in p["content"])
    children = client.get(f"{base}/{parent['id']}/child_chunks").json()
    assert children["total"] == len(parent["child_chunks"]) >= 2 and children["page"] == 1
    child = next(c for c in children["data"] if "magma" in c["content"])
    r = client.patch(f"{base}/{parent['id']}/child_chunks/{child['id']}",
                     json={"content": "Magma that reaches the surface is called lava."})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["content"] == "Magma that reaches the surface is called lava."
    hit = retrieve(client, ds, "what is magma called once it reaches the surface")[0]
    assert hit["segment"]["id"] == parent["id"]
    assert hit["child_chunks"][0]["content"] == "Magma that reaches the surface is called lava."



def test_child_chunks_added_and_deleted(nature_doc):
    """A child chunk written by hand is searchable at once and brings back its parent; a deleted one is gone from
    search; a chunk keeps its last child; chunks of a plain knowledge base have none to add to."""
    client, ds, doc = nature_doc
    base = f"/datasets/{ds}/documents/{doc['id']}/segments"
    parent = next(p for p in client.get(base).json()["data"] if "Zebras" in p["content"])
    r = client.post(f"{base}/{parent['id']}/child_chunks", json={"content": "Zebras bark like small dogs."})
    assert r.status_code == 200, r.text
    added = r.json()["data"]
    assert added["segment_id"] == parent["id"] and added["type"] == "customized"
    assert added["position"] == len(parent["child_chunks"]) + 1
    hit = retrieve(client, ds, "which animal barks like a small dog")[0]
    assert hit["segment"]["id"] == parent["id"]
    assert hit["child_chunks"][0]["id"] == added["id"]

    assert client.post(f"{base}/{parent['id']}/child_chunks", json={"content": "   "}).status_code == 400
    assert client.post(f"{base}/{parent['id']}/child_chunks", json={}).status_code == 400
    assert client.post(f"{base}/{uuid.uuid4()}/child_chunks", json={"content": "x"}).status_code == 404

    r = client.delete(f"{base}/{parent['id']}/child_chunks/{added['id']}")
    assert r.status_code == 204, r.text
    assert all(h["child_chunks"][0]["id"] != added["id"]
               for h in retrieve(client, ds, "which animal barks like a small dog"))
    assert client.delete(f"{base}/{parent['id']}/child_chunks/{added['id']}").status_code == 404

    children = client.get(f"{base}/{parent['id']}/child_chunks").json()["data"]
    for child in children[1:]:
        assert client.delete(f"{base}/{parent['id']}/child_chunks/{child['id']}").status_code == 204
    r = client.delete(f"{base}/{parent['id']}/child_chunks/{children[0]['id']}")
    assert r.status_code == 400 and "delete the parent chunk" in r.json()["message"]
    assert client.get(f"{base}/{parent['id']}/child_chunks").json()["total"] == 1

    plain = client.post("/datasets", json={"name": "Plain"}).json()["id"]
    note = add_text(client, plain, "bread", SOURDOUGH)
    seg = client.get(f"/datasets/{plain}/documents/{note['id']}/segments").json()["data"][0]
    r = client.post(f"/datasets/{plain}/documents/{note['id']}/segments/{seg['id']}/child_chunks",
                    json={"content": "A starter is fed flour and water."})
    assert r.status_code == 400 and r.json()["code"] == "invalid_param"


def test_metadata_and_document_switches(nature_doc):
    client, ds, doc = nature_doc
    metadata = client.get(f"/datasets/{ds}/metadata").json()
    assert {"id": "author", "name": "author", "type": "string", "count": 1} in metadata["doc_metadata"]
    assert "document_name" in {f["name"] for f in client.get(f"/datasets/{ds}/metadata/built-in").json()["fields"]}
    filtered = {"search_method": "semantic_search", "metadata_filtering_conditions": {
        "logical_operator": "and", "conditions": [{"name": "author", "comparison_operator": "is", "value": "bob"}]}}
    assert retrieve(client, ds, "zebras", retrieval_model=filtered) == []

    r = client.patch(f"/datasets/{ds}/documents/status/disable", json={"document_ids": [doc["id"]]})
    assert r.status_code == 200 and r.json() == {"result": "success"}
    assert client.get(f"/datasets/{ds}/documents/{doc['id']}").json()["display_status"] == "disabled"
    assert retrieve(client, ds, "zebras") == []
    client.patch(f"/datasets/{ds}/documents/status/enable", json={"document_ids": [doc["id"]]})
    assert retrieve(client, ds, "zebras")[0]["segment"]["document_id"] == doc["id"]


def test_tags_bound_listed_and_filtered(kb):
    client, dataset = kb
    ds = dataset["id"]
    assert dataset["tags"] == []
    other = client.post("/datasets", json={"name": "Untagged"}).json()["id"]
    made = {}
    for name in ("science", "nature"):
        r = client.post("/datasets/tags", json={"name": name})
        assert r.status_code == 200, r.text
        made[name] = r.json()
        assert made[name]["type"] == "knowledge" and made[name]["binding_count"] == "0"
    r = client.post("/datasets/tags", json={"name": "science"})
    assert r.status_code == 409 and "science" in r.json()["message"]
    assert client.post("/datasets/tags", json={"name": ""}).status_code == 400
    assert client.post("/datasets/tags", json={"name": "x" * 51}).status_code == 400

    ids = [made["science"]["id"], made["nature"]["id"]]
    r = client.post("/datasets/tags/binding", json={"tag_ids": [*ids, str(uuid.uuid4())], "target_id": ds})
    assert r.status_code == 404  # an unknown tag binds none of them
    assert client.get(f"/datasets/{ds}/tags").json() == {"data": [], "total": 0}
    r = client.post("/datasets/tags/binding", json={"tag_ids": ids, "target_id": ds})
    assert r.status_code == 204, r.text
    assert client.post("/datasets/tags/binding", json={"tag_ids": ids, "target_id": ds}).status_code == 204
    assert client.post("/datasets/tags/binding", json={"tag_ids": ids, "target_id": str(uuid.uuid4())}
                       ).status_code == 404
    bound = client.get(f"/datasets/{ds}/tags").json()
    assert bound["total"] == 2 and {t["name"] for t in bound["data"]} == {"science", "nature"}
    assert {t["name"] for t in client.get(f"/datasets/{ds}").json()["tags"]} == {"science", "nature"}
    listed = {t["name"]: t for t in client.get("/datasets/tags").json()}
    assert listed["science"]["binding_count"] == "1"

    everything = {d["id"] for d in client.get("/datasets").json()["data"]}
    assert {ds, other} <= everything
    tagged = client.get("/datasets", params={"tag_ids": [made["nature"]["id"]]}).json()
    assert [d["id"] for d in tagged["data"]] == [ds] and tagged["total"] == 1

    r = client.patch("/datasets/tags", json={"tag_id": made["science"]["id"], "name": "physics"})
    assert r.status_code == 200 and r.json()["name"] == "physics" and r.json()["binding_count"] == "1"
    assert client.patch("/datasets/tags", json={"tag_id": made["science"]["id"], "name": "nature"}).status_code == 409
    assert client.patch("/datasets/tags", json={"tag_id": "nope", "name": "z"}).status_code == 404

    r = client.post("/datasets/tags/unbinding", json={"tag_id": made["science"]["id"], "target_id": ds})
    assert r.status_code == 204  # Dify's older body: one tag_id
    assert [t["name"] for t in client.get(f"/datasets/{ds}/tags").json()["data"]] == ["nature"]
    r = client.post("/datasets/tags/unbinding", json={"tag_ids": [made["nature"]["id"]], "target_id": ds})
    assert r.status_code == 204
    assert client.get(f"/datasets/{ds}/tags").json()["total"] == 0
    assert client.post("/datasets/tags/unbinding", json={"target_id": ds}).status_code == 400

    client.post("/datasets/tags/binding", json={"tag_ids": [made["nature"]["id"]], "target_id": other})
    r = client.request("DELETE", "/datasets/tags", json={"tag_id": made["nature"]["id"]})
    assert r.status_code == 204
    assert client.request("DELETE", "/datasets/tags", json={"tag_id": made["nature"]["id"]}).status_code == 404
    assert [t["name"] for t in client.get("/datasets/tags").json()] == ["physics"]
    assert client.get(f"/datasets/{other}/tags").json()["total"] == 0
    assert client.get(f"/datasets/{other}").status_code == 200  # the knowledge base outlives its tag


def test_metadata_fields_declared_set_renamed_and_removed(nature_doc):
    client, ds, doc = nature_doc
    meta = f"/datasets/{ds}/metadata"
    r = client.post(meta, json={"type": "number", "name": "year"})
    assert r.status_code == 201, r.text
    year = r.json()
    assert year["type"] == "number" and year["name"] == "year" and year["id"] != "year"
    assert client.post(meta, json={"type": "string", "name": "year"}).status_code == 409
    assert client.post(meta, json={"type": "string", "name": "document_name"}).status_code == 409
    assert client.post(meta, json={"type": "boolean", "name": "flag"}).status_code == 400
    r = client.post(meta, json={"type": "number", "name": "author"})  # front matter holds text under that name
    assert r.status_code == 400 and "nature.md already holds author" in r.json()["message"]
    fields = client.get(meta).json()
    assert fields["built_in_field_enabled"] is True
    assert fields["doc_metadata"][:2] == [{**year, "count": 0}, {"id": "author", "name": "author", "type": "string",
                                                                   "count": 1}]

    def set_values(*ops):
        return client.post(f"/datasets/{ds}/documents/metadata", json={"operation_data": list(ops)})

    def values():
        got = client.get(f"/datasets/{ds}/documents/{doc['id']}").json()["doc_metadata"]
        return {m["name"]: (m["id"], m["type"], m["value"]) for m in got}

    r = set_values({"document_id": doc["id"], "partial_update": True,
                    "metadata_list": [{"id": year["id"], "name": "year", "value": "2021"}]})
    assert r.status_code == 200 and r.json() == {"result": "success"}, r.text
    assert values() == {"author": ("author", "string", "alice"), "year": (year["id"], "number", 2021)}
    r = set_values({"document_id": doc["id"], "partial_update": True,
                    "metadata_list": [{"id": year["id"], "value": 1999}]},
                   {"document_id": doc["id"], "partial_update": True,
                    "metadata_list": [{"id": year["id"], "value": "last spring"}]})
    assert r.status_code == 400 and "year" in r.json()["message"]
    assert values()["year"][2] == 2021  # all or nothing
    assert set_values({"document_id": str(uuid.uuid4()), "metadata_list": []}).status_code == 404
    assert set_values({"document_id": doc["id"], "metadata_list": [{"id": "nope", "value": 1}]}).status_code == 404

    def found(name, op, value):
        return retrieve(client, ds, "zebras", retrieval_model={
            "search_method": "semantic_search", "metadata_filtering_conditions": {
                "logical_operator": "and", "conditions": [{"name": name, "comparison_operator": op, "value": value}]}})

    assert found("year", ">", "2020") and found("year", "<", "2000") == []

    r = client.patch(f"{meta}/author", json={"name": "writer"})  # a name documents carry, undeclared
    assert r.status_code == 200 and r.json()["name"] == "writer", r.text
    r = client.patch(f"{meta}/{year['id']}", json={"name": "published"})
    assert r.status_code == 200 and r.json() == {**year, "name": "published"}
    assert client.patch(f"{meta}/{year['id']}", json={"name": "writer"}).status_code == 409
    assert values() == {"writer": ("writer", "string", "alice"), "published": (year["id"], "number", 2021)}
    assert found("writer", "is", "alice") and found("author", "is", "alice") == []

    assert client.post(f"{meta}/built-in/disable").json() == {"result": "success"}
    assert client.get(meta).json()["built_in_field_enabled"] is False
    assert found("document_name", "is", "nature.md") == []
    client.post(f"{meta}/built-in/enable")
    assert found("document_name", "is", "nature.md")
    assert client.post(f"{meta}/built-in/sideways").status_code == 400

    r = set_values({"document_id": doc["id"], "partial_update": False,
                    "metadata_list": [{"id": year["id"], "value": 2019}]})
    assert r.status_code == 200
    assert values() == {"published": (year["id"], "number", 2019)}  # a full update replaces the values
    assert client.delete(f"{meta}/{year['id']}").status_code == 204
    assert values() == {} and client.get(meta).json()["doc_metadata"] == []
    assert client.delete(f"{meta}/{year['id']}").status_code == 404


def test_labels_hold_under_races_and_odd_values(nature_doc, api, dataset_key):
    """From a breaker's run: concurrent renames left values under a name no field had, a tag deleted while being
    bound or renamed gave 500s, and 10**400 or true slipped into number fields."""
    from concurrent.futures import ThreadPoolExecutor

    client, ds, doc = nature_doc
    meta = f"/datasets/{ds}/metadata"
    field = client.post(meta, json={"type": "string", "name": "topic"}).json()
    client.post(f"/datasets/{ds}/documents/metadata", json={"operation_data": [{
        "document_id": doc["id"], "partial_update": True, "metadata_list": [{"id": field["id"], "value": "v"}]}]})

    def call(method, path, body):
        with httpx.Client(base_url=api, timeout=60, headers=auth(dataset_key)) as c:
            return c.request(method, path, json=body).status_code

    with ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(lambda n: call("PATCH", f"{meta}/{field['id']}", {"name": f"topic{n}"}), range(12)))
    assert set(codes) == {200}
    listed = {f["name"]: f for f in client.get(meta).json()["doc_metadata"]}
    [renamed] = [f for f in listed.values() if f["name"].startswith("topic")]
    assert renamed["id"] == field["id"] and renamed["count"] == 1, listed  # the value followed the last rename

    r = client.patch(f"{meta}/{renamed['name']}", json={"name": "subject"})  # a declared field named by its name
    assert r.status_code == 200 and r.json()["id"] == field["id"]
    assert {f["name"]: f["count"] for f in client.get(meta).json()["doc_metadata"]}["subject"] == 1

    for _ in range(3):
        tag = client.post("/datasets/tags", json={"name": f"t{uuid.uuid4().hex[:8]}"}).json()["id"]
        jobs = [("POST", "/datasets/tags/binding", {"tag_ids": [tag], "target_id": ds}),
                ("PATCH", "/datasets/tags", {"tag_id": tag, "name": f"r{uuid.uuid4().hex[:8]}"}),
                ("DELETE", "/datasets/tags", {"tag_id": tag})] * 4
        with ThreadPoolExecutor(12) as pool:
            codes = list(pool.map(lambda job: call(*job), jobs))
        assert set(codes) <= {200, 204, 404}, codes
    assert client.get(f"/datasets/{ds}/tags").json()["total"] == 0

    year = client.post(meta, json={"type": "number", "name": "year"}).json()["id"]
    when = client.post(meta, json={"type": "time", "name": "when"}).json()["id"]
    for fid, value in ((year, 10 ** 400), (year, True), (year, {"a": 1}), (when, 10 ** 18), (when, False)):
        body = '{"operation_data": [{"document_id": "%s", "partial_update": true, "metadata_list": ' \
               '[{"id": "%s", "value": %s}]}]}' % (doc["id"], fid, json.dumps(value) if not isinstance(value, int)
                                                   or isinstance(value, bool) else str(value))
        r = client.post(f"/datasets/{ds}/documents/metadata", content=body,
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (value, r.text)
    assert retrieve(client, ds, "zebras", retrieval_model={"metadata_filtering_conditions": {
        "logical_operator": "and", "conditions": [{"name": "year", "comparison_operator": ">",
                                                   "value": 10 ** 400}]}}) == []

    parent = client.get(f"/datasets/{ds}/documents/{doc['id']}/segments").json()["data"][0]
    children = f"/datasets/{ds}/documents/{doc['id']}/segments/{parent['id']}/child_chunks"
    for content in ("x" * 16_001, "a\u0000b"):
        r = client.post(children, json={"content": content})
        assert r.status_code == 400 and r.json()["code"] == "invalid_param", r.text
    assert {d["id"] for d in client.get("/datasets", params={"tag_ids": ""}).json()["data"]} == {ds}


def test_documents_sent_at_once_are_all_indexed(kb):
    """Documents that arrive while a background run is going (or just ending) are indexed too."""
    from concurrent.futures import ThreadPoolExecutor

    client, dataset = kb
    ds = dataset["id"]
    texts = [f"Note {n}: " + (ZEBRA, VOLCANO, SOURDOUGH)[n % 3] for n in range(8)]

    def send(n: int) -> str:
        r = client.post(f"/datasets/{ds}/document/create-by-text", json={"name": f"note-{n}", "text": texts[n]})
        assert r.status_code == 200, r.text
        return r.json()["batch"]

    with ThreadPoolExecutor(8) as pool:
        batches = list(pool.map(send, range(8)))
    assert all(wait_indexed(client, ds, b)["indexing_status"] == "completed" for b in batches)
    docs = client.get(f"/datasets/{ds}/documents", params={"limit": 100}).json()
    assert docs["total"] == 8 and {d["display_status"] for d in docs["data"]} == {"available"}


def test_update_by_text_and_file_replace_content_and_keep_the_id(two_docs, home):
    client, ds, zebra, volcano = two_docs
    stored = home / "files" / "knowledge" / ds / zebra["id"]
    r = client.post(f"/datasets/{ds}/documents/{zebra['id']}/update-by-text", json={"name": "Bread", "text": SOURDOUGH})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["batch"] == zebra["id"] and out["document"]["id"] == zebra["id"] and out["document"]["name"] == "Bread"
    status = wait_indexed(client, ds, zebra["id"])
    assert status["indexing_status"] == "completed", status
    # The old text is gone from both legs of search and the new one is found under the same document id.
    assert retrieve(client, ds, "zebras stripes", retrieval_model=FULL_TEXT) == []
    top = retrieve(client, ds, "wild yeast starter for a tangy loaf")[0]
    assert top["segment"]["document_id"] == zebra["id"] and "Sourdough" in top["segment"]["content"]
    assert [p.read_text() for p in stored.rglob("*.txt")] == [SOURDOUGH]  # the old file was removed
    assert client.get(f"/datasets/{ds}").json()["document_count"] == 2

    # A rename alone keeps the content and needs no indexing; Dify's older spelling works too.
    r = client.post(f"/datasets/{ds}/documents/{zebra['id']}/update_by_text", json={"name": "Sourdough"})
    assert r.status_code == 200 and r.json()["document"]["name"] == "Sourdough"
    assert r.json()["document"]["indexing_status"] == "completed"

    files = {"file": ("lava.md", b"# Lava\n\nBasaltic lava flows are hot and runny; pahoehoe has a ropy skin.\n",
                      "text/markdown")}
    r = client.post(f"/datasets/{ds}/documents/{volcano['id']}/update-by-file", files=files,
                    data={"data": json.dumps({"process_rule": {"mode": "automatic"}})})
    assert r.status_code == 200, r.text
    assert r.json()["document"]["id"] == volcano["id"] and r.json()["document"]["name"] == "lava.md"
    assert wait_indexed(client, ds, volcano["id"])["indexing_status"] == "completed"
    top = retrieve(client, ds, "ropy skin of runny basaltic lava")[0]
    assert top["segment"]["document_id"] == volcano["id"] and "pahoehoe" in top["segment"]["content"]

    # Client mistakes are 4xx with Dify's codes.
    r = client.post(f"/datasets/{ds}/documents/{zebra['id']}/update-by-text", json={"text": "no name"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_param"
    r = client.post(f"/datasets/{ds}/documents/{uuid.uuid4()}/update-by-text", json={"name": "x", "text": "y"})
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = client.post(f"/datasets/{ds}/documents/{zebra['id']}/update-by-file",
                    files={"file": ("tool.exe", b"MZ", "application/octet-stream")})
    assert r.status_code == 415 and r.json()["code"] == "unsupported_file_type"
    r = client.post(f"/datasets/{ds}/documents/{zebra['id']}/update-by-text", json={"name": "x", "text": "  "})
    assert r.status_code == 400 and r.json()["params"] == "text"
    r = client.post(f"/datasets/{ds}/document/create-by-text", json={"name": "x", "text": ""})
    assert r.status_code == 400 and r.json()["params"] == "text"
    assert client.get(f"/datasets/{ds}/documents/{zebra['id']}").json()["name"] == "Sourdough"  # nothing changed
    assert client.get(f"/datasets/{ds}").json()["document_count"] == 2
