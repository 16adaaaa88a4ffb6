"""Small builders for catalogs in the documented `/v1/models` shape, used across the tests."""

from __future__ import annotations

import json
from typing import Any


def provider(
    name: str, inp: float, out: float, policy: str | None = "zdr", **extra: Any
) -> dict[str, Any]:
    return {"name": name, "input_price": inp, "output_price": out, "data_policy": policy, **extra}


def model(mid: str, *providers: dict[str, Any], **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": mid,
        "object": "model",
        "created": 1_700_000_000,
        "owned_by": "acme",
        "context_window": 128_000,
        "supported_endpoints": ["chat_completions"],
        "providers": list(providers),
    }
    base.update(fields)
    return base


def catalog(*models: dict[str, Any], version: str | None = "v1", **top: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "object": "list",
        "catalog_age_seconds": 5,
        "data": list(models),
        **top,
    }
    if version is not None:
        payload["catalog_version"] = version
    return payload


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def base_catalog(version: str | None = "v1") -> dict[str, Any]:
    """Three models, several providers: the starting point most tests change."""
    return catalog(
        model("gpt-4o", provider("openai", 2.5, 10.0, "no_training"), provider("azure", 2.5, 10.0)),
        model("claude-sonnet", provider("anthropic", 3.0, 15.0, "no_training"),
              provider("bedrock", 3.0, 15.0, "zdr")),
        model("llama-70b", provider("together", 0.88, 0.88, "none"),
              provider("groq", 0.59, 0.79, "zdr"), context_window=131_072),
        version=version,
    )
