"""Any OpenAI-compatible `GET /v1/models` (OpenAI, vLLM, Ollama, LiteLLM proxy, ...).

Such a list has ids, owners and creation times, and no prices: what matters there is which
models come and go. Every other field a server adds is kept and tracked. The key is optional
(`OPENAI_API_KEY` by default; local servers usually need none). No catalog version: a
snapshot's identity is its content hash.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tracker.catalog import Catalog, Model, decode_body
from tracker.sources.base import ModelsList, build_catalog, require_list
from tracker.vocabulary import id_label

_MAPPED = frozenset({"id", "object", "created", "owned_by"})


class OpenAICompatibleAdapter(ModelsList):
    kind: ClassVar[str] = "openai"
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"
    default_key_env: ClassVar[str] = "OPENAI_API_KEY"
    needs_key: ClassVar[bool] = False

    def parse(self, body: bytes, previous: Catalog | None = None) -> Catalog:
        payload = decode_body(body)
        problems: list[str] = []
        models = []
        for index, raw in enumerate(require_list(payload)):
            model = _model(raw, index, problems)
            if model is not None:
                models.append(model)
        extra = {k: v for k, v in payload.items() if k not in ("object", "data")}
        return build_catalog(models, extra=extra, problems=problems)


def _model(raw: Any, index: int, problems: list[str]) -> Model | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        problems.append(f"data[{index}]: a model needs a non-empty string id")
        return None
    created = raw.get("created", 0)
    owned_by = raw.get("owned_by", "")
    if not isinstance(created, int) or isinstance(created, bool):
        problems.append(f"model {id_label(raw['id'])} created: expected an integer")
        return None
    if not isinstance(owned_by, str):
        problems.append(f"model {id_label(raw['id'])} owned_by: expected a string")
        return None
    return Model(
        id=raw["id"],
        created=created,
        owned_by=owned_by,
        extra={k: v for k, v in raw.items() if k not in _MAPPED},
    )
