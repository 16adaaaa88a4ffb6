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


# The demo's v2 -> v3 effective-price jump at zdr (issue 12's example): deepinfra's
# llama-3.3-70b-instruct weakens to none, so the cheapest zdr offer is groq's, +134.86 %.
DEMO_ZDR_JUMP = {
    "kind": "effective_price_changed", "model": "llama-3.3-70b-instruct",
    "provider": "groq", "field": "effective.zdr",
    "old": {"provider": "deepinfra", "input_price": 0.23, "output_price": 0.4,
            "blended": 0.2725},
    "new": {"provider": "groq", "input_price": 0.59, "output_price": 0.79, "blended": 0.64},
    "change_pct": 134.86, "causes": ["data_policy_changed"],
}
