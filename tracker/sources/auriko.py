"""Auriko's `GET /v1/models`: the OpenAI-compatible list plus providers with prices per 1M
tokens and data policies. Its schema is the normalized form itself (tracker.catalog)."""

from __future__ import annotations

from typing import ClassVar

from tracker.catalog import Catalog, catalog_text_digest, parse_catalog


class AurikoAdapter:
    kind: ClassVar[str] = "auriko"
    default_base_url: ClassVar[str] = "https://api.auriko.ai/v1"
    default_key_env: ClassVar[str] = "AURIKO_API_KEY"
    needs_key: ClassVar[bool] = True

    def request(self, base_url: str, endpoint: str | None) -> tuple[str, dict[str, str]]:
        # `endpoint=responses` widens the list to Responses-only models; the default list
        # is asked for without a parameter.
        params = {"endpoint": endpoint} if endpoint and endpoint != "chat_completions" else {}
        return base_url.rstrip("/") + "/models", params

    def parse(self, body: bytes, previous: Catalog | None = None) -> Catalog:
        return parse_catalog(body, previous)

    def catalog_digest(self, body: bytes) -> str | None:
        """The digest of `body`'s catalog text, apart from `catalog_age_seconds`."""
        return catalog_text_digest(body)
