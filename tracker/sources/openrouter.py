"""OpenRouter's `GET /api/v1/models` (public, no key needed).

Each model has `id`, `name`, `created`, `context_length`, `pricing` with per-token prices as
strings (`prompt`, `completion`, and others such as `input_cache_read`, `web_search`),
`architecture`, `top_provider` and `supported_parameters`. Normalized as one provider,
`openrouter`, with `prompt`/`completion` converted to exact prices per 1M tokens; every other
pricing key is tracked as a field of that provider (`pricing.<key>`, per-unit strings exactly
as published), and every other model field as a model field. OpenRouter publishes no catalog
version, so a snapshot's identity is its content hash.

A negative price (OpenRouter's "-1" for routers whose price varies per request) is not a
price: such a model is kept with no provider and its pricing as a field.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tracker.catalog import Catalog, Model, Provider, decode_body
from tracker.sources.base import ModelsList, build_catalog, per_million, require_list
from tracker.vocabulary import id_label

PROVIDER = "openrouter"
_MAPPED = frozenset({"id", "created", "context_length", "pricing"})


class OpenRouterAdapter(ModelsList):
    kind: ClassVar[str] = "openrouter"
    default_base_url: ClassVar[str] = "https://openrouter.ai/api/v1"
    default_key_env: ClassVar[str] = "OPENROUTER_API_KEY"
    needs_key: ClassVar[bool] = False

    def parse(self, body: bytes, previous: Catalog | None = None) -> Catalog:
        payload = decode_body(body)
        problems: list[str] = []
        models = [m for i, raw in enumerate(require_list(payload))
                  if (m := _model(raw, i, problems)) is not None]
        extra = {k: v for k, v in payload.items() if k != "data"}
        return build_catalog(models, extra=extra, problems=problems)


def _model(raw: Any, index: int, problems: list[str]) -> Model | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        problems.append(f"data[{index}]: a model needs a non-empty string id")
        return None
    model_id = raw["id"]
    label = f"model {id_label(model_id)}"
    created = raw.get("created", 0)
    context = raw.get("context_length")
    pricing = raw.get("pricing") or {}
    if not isinstance(created, int) or isinstance(created, bool):
        problems.append(f"{label} created: expected an integer")
        return None
    if context is not None and (not isinstance(context, int) or isinstance(context, bool)
                                or context < 0):
        problems.append(f"{label} context_length: expected a non-negative integer")
        return None
    if not isinstance(pricing, dict):
        problems.append(f"{label} pricing: expected an object")
        return None

    extra: dict[str, Any] = {k: v for k, v in raw.items() if k not in _MAPPED}
    providers: dict[str, Provider] = {}
    prompt = per_million(pricing.get("prompt", "0"), f"{label} pricing.prompt", problems)
    completion = per_million(pricing.get("completion", "0"), f"{label} pricing.completion",
                             problems)
    if prompt is None or completion is None:
        return None
    others = {k: v for k, v in pricing.items() if k not in ("prompt", "completion")}
    if prompt < 0 or completion < 0:
        extra["pricing"] = pricing  # variable pricing: no fixed price to track
    else:
        providers[PROVIDER] = Provider(
            name=PROVIDER,
            input_price=prompt,
            output_price=completion,
            data_policy=None,
            extra={"pricing": others} if others else {},
        )
    return Model(
        id=model_id,
        created=created,
        owned_by=model_id.split("/", 1)[0] if "/" in model_id else "",
        context_window=context,
        supported_endpoints=None,
        providers=providers,
        extra=extra,
    )
