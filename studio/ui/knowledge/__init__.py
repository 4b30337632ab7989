"""The Knowledge page: knowledge bases, their documents and chunks, ingestion progress and retrieval testing."""
