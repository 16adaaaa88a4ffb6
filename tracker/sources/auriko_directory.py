"""Auriko's model directory, `GET /v1/directory/models`: per provider, pricing tiers.

Expected shape (unknown fields anywhere are kept and tracked):

    {"object": "list", "catalog_version": "...",
     "data": [{"id": "gpt-4o", "created": 1715367049, "owned_by": "openai",
               "context_window": 128000, "supported_endpoints": ["chat_completions"],
               "providers": [{"name": "openai", "data_policy": "no_training",
                              "tiers": [{"name": "standard", "input_price": 2.5,
                                         "output_price": 10.0, "cache_read_price": 1.25,
                                         "cache_write_price": null,
                                         "max_output_tokens": 16384,
                                         "data_policy": "no_training",
                                         "shutdown_at": null}]}]}]}

Each tier becomes one provider entry named `<provider>/<tier>` (a provider without tiers keeps
its own prices under its plain name), so prices and policies are tracked per tier exactly like
Auriko's `/v1/models`. `cache_read_price`, `cache_write_price`, `max_output_tokens` and
`shutdown_at` are tracked as fields of that entry; a newly announced `shutdown_at` is reported
as its own change kind, `shutdown_announced`, first in every report.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import orjson

from tracker.catalog import Catalog, parse_catalog


class AurikoDirectoryAdapter:
    kind: ClassVar[str] = "auriko-directory"
    default_base_url: ClassVar[str] = "https://api.auriko.ai/v1"
    default_key_env: ClassVar[str] = "AURIKO_API_KEY"
    needs_key: ClassVar[bool] = True

    def request(self, base_url: str, endpoint: str | None) -> tuple[str, dict[str, str]]:
        return base_url.rstrip("/") + "/directory/models", {}

    def parse(self, body: bytes, previous: Catalog | None = None) -> Catalog:
        # Flatten tiers into provider entries, then validate and normalize exactly as the
        # /v1/models list is (same schema, same rejections, same change records).
        from tracker.catalog import decode_body

        payload = decode_body(body)
        if isinstance(payload, dict) and isinstance(payload.get("data"), list):
            payload = {**payload, "data": [_flatten(m) for m in payload["data"]]}
        return parse_catalog(orjson.dumps(payload), previous)


def _flatten(model: Any) -> Any:
    if not isinstance(model, dict) or not isinstance(model.get("providers"), list):
        return model
    providers: list[Any] = []
    for provider in model["providers"]:
        tiers = provider.get("tiers") if isinstance(provider, dict) else None
        if not isinstance(tiers, list):
            providers.append(provider)
            continue
        shared = {k: v for k, v in provider.items() if k not in ("tiers", "name")}
        for tier in tiers:
            if not isinstance(tier, dict):
                providers.append({"name": provider.get("name"), "tier": tier})
                continue
            entry = copy.deepcopy(shared)
            entry.update({k: v for k, v in tier.items() if k != "name"})
            tier_name = tier.get("name")
            entry["name"] = f"{provider.get('name')}/{tier_name}" if tier_name else provider.get(
                "name")
            providers.append(entry)
    return {**model, "providers": providers}
