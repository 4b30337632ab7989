"""The localhost service API: Dify's /v1 service API and an OpenAI-compatible /v1, over the same services."""
