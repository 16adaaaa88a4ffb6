"""Source adapters: one small module per kind of catalog, each turning a response body into the
normalized `Catalog`. The pipeline is the same for all of them; adding a kind means adding a
module here and registering it below (plus its tests).

| kind | request | identity | key |
| --- | --- | --- | --- |
| `auriko` | `{base}/models[?endpoint=responses]` | version, else content hash | required |
| `auriko-directory` | `{base}/directory/models` | version, else content hash | required |
| `openrouter` | `{base}/models` | content hash | optional |
| `openai` | `{base}/models` (OpenAI, vLLM, Ollama, LiteLLM...) | content hash | optional |
"""

from __future__ import annotations

from tracker.sources.base import SourceAdapter


def adapter_for(kind: str) -> SourceAdapter:
    """The adapter of a source kind (imported on demand: a fetch loads only its own)."""
    if kind == "auriko":
        from tracker.sources.auriko import AurikoAdapter

        return AurikoAdapter()
    if kind == "auriko-directory":
        from tracker.sources.auriko_directory import AurikoDirectoryAdapter

        return AurikoDirectoryAdapter()
    if kind == "openrouter":
        from tracker.sources.openrouter import OpenRouterAdapter

        return OpenRouterAdapter()
    if kind == "openai":
        from tracker.sources.openai import OpenAICompatibleAdapter

        return OpenAICompatibleAdapter()
    from tracker.errors import ConfigError

    raise ConfigError(f"unknown source kind {kind!r} (use one of: {', '.join(KINDS)})")


KINDS = ("auriko", "auriko-directory", "openrouter", "openai")
