"""Generate a synthetic catalog series as a git-scraping repository.

The repository looks like what a scraper cron job leaves behind: one file, `models.json`, in the
router's `GET /v1/models` format (see tracker/demo_data/catalog-01.json), committed once per
catalog version, one hour apart. Between versions about `churn` of the models see a change:
price moves, data-policy flips, models and providers added or removed, now and then a
context_window change.

The default series is shaped like a real router's history (see bench/README.md): the catalog
grows from 50 to `--models` models (and shrinks once), models and providers are listed in
another order in every version, a few prices per version are written with float noise
(0.8299999999999998 for 0.83), a model has 1 to 12 providers (long-tailed), a few versions have
no catalog_version, and one version reverts to an earlier one. `--kind` makes the old, kind
series instead: a catalog of constant size, sorted by id, with clean prices.

    python bench/generate.py --out /tmp/series                 # 300 versions, 50 -> 2,000 models
    python bench/generate.py --kind --out /tmp/kind            # 300 versions x 2,000 models, kind
    python bench/generate.py --versions 50 --models 500 --seed 7 --out /tmp/small

The series is a pure function of the parameters (seeded `random.Random`), so the same
arguments give byte-identical files and commit ids. All versions are committed through one
`git fast-import` process (a few seconds for the default size).

Uses only the standard library and git, so it runs with any Python 3.11.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

# Bump when the generated data changes for the same parameters (invalidates cached repos).
GENERATOR_VERSION = 2

FILE_NAME = "models.json"
BRANCH = "main"
START = datetime(2026, 1, 1, tzinfo=UTC)
INTERVAL = timedelta(hours=1)
AUTHOR = "catalog-scraper <scraper@bench.invalid>"

POLICIES: tuple[str | None, ...] = ("zdr", "no_training", "none", None)
POLICY_WEIGHTS = (25, 35, 25, 15)
PROVIDER_COUNT_WEIGHTS = {1: 30, 2: 30, 3: 20, 4: 12, 5: 8}
OUTPUT_RATIOS = (1, 2, 3, 4, 4, 5, 8)
CONTEXT_WINDOWS = (8192, 32768, 65536, 128000, 131072, 200000, 262144, 400000, 1000000, 1047576)

# Per version, what kind of change each churn event is (relative weights).
EVENT_WEIGHTS: dict[str, int] = {
    "price": 50,
    "data_policy": 14,
    "model_add": 8,
    "model_remove": 8,
    "provider_add": 8,
    "provider_remove": 8,
    "context_window": 4,
}

# --- the realistic series ---

# Providers per model, long-tailed (weight k^-1.5 for k providers: mean about 2.7, as real
# catalogs have, e.g. 4,685 offers for 1,743 models), capped by how many hosts serve a maker.
REALISTIC_PROVIDER_COUNT_WEIGHTS = {k: round(1000 * k ** -1.5) for k in range(1, 13)}
# Share of the models with several providers whose providers are listed in another order in
# each version (a router sorting them by latency or load).
PROVIDER_REORDER_SHARE = 0.3
# Prices written with float noise in each version (a router computing prices in floats).
NOISY_PRICES_PER_VERSION = (2, 6)
# Versions served without catalog_version, and where the single shrink and revert happen.
UNVERSIONED_COUNT = 3
SHRINK_AT, SHRINK_SHARE = 0.45, 0.06
REVERT_AT, REVERT_BACK = 0.7, 2  # this version re-serves the one REVERT_BACK versions earlier

OPEN_HOSTS = (
    "together", "fireworks", "deepinfra", "groq", "cerebras", "novita", "nebius", "hyperbolic",
    "sambanova", "baseten", "lambda", "parasail", "bedrock", "azure", "vertex", "cloudflare",
)


@dataclass(frozen=True)
class Maker:
    """A model maker: its id families, who serves its models, and its price range."""

    name: str
    families: tuple[str, ...]
    sizes: tuple[str, ...]
    hosts: tuple[str, ...]
    price_range: tuple[float, float]  # input price, USD per 1M tokens


MAKERS: tuple[Maker, ...] = (
    Maker("openai", ("gpt-4o", "gpt-4.1", "gpt-5", "o3", "o4", "gpt-oss"),
          ("", "-mini", "-nano", "-pro"), ("openai", "azure"), (0.05, 15.0)),
    Maker("anthropic", ("claude-3-5-sonnet", "claude-sonnet-4", "claude-opus-4", "claude-haiku-4"),
          ("", "-5", "-1"), ("anthropic", "bedrock", "vertex"), (0.8, 15.0)),
    Maker("google", ("gemini-2.0", "gemini-2.5", "gemini-3", "gemma-3"),
          ("-flash", "-flash-lite", "-pro", "-27b", "-12b"),
          ("google-ai-studio", "vertex", "deepinfra"), (0.075, 5.0)),
    Maker("meta", ("llama-3.1", "llama-3.3", "llama-4-scout", "llama-4-maverick"),
          ("-8b", "-70b", "-405b", "-17b-16e", "-17b-128e"), OPEN_HOSTS, (0.02, 3.0)),
    Maker("mistral", ("mistral-large", "mistral-medium", "mistral-small", "codestral",
                      "ministral", "magistral", "devstral"),
          ("", "-3b", "-8b", "-24b"), ("mistral", *OPEN_HOSTS[:8]), (0.04, 6.0)),
    Maker("deepseek", ("deepseek-v3", "deepseek-v3.1", "deepseek-v3.2", "deepseek-r1"),
          ("", "-distill-llama-70b", "-distill-qwen-32b"), ("deepseek", *OPEN_HOSTS),
          (0.1, 3.0)),
    Maker("qwen", ("qwen2.5", "qwen3", "qwen3-coder", "qwq"),
          ("-7b", "-14b", "-32b", "-72b", "-235b-a22b", "-480b-a35b", "-30b-a3b"),
          ("alibaba", *OPEN_HOSTS), (0.03, 2.0)),
    Maker("xai", ("grok-3", "grok-4", "grok-code-fast"), ("", "-mini", "-fast"),
          ("xai", "azure"), (0.2, 15.0)),
    Maker("cohere", ("command-r", "command-r-plus", "command-a"), ("", "-08-2024", "-03-2025"),
          ("cohere", "bedrock", "azure"), (0.15, 10.0)),
    Maker("moonshotai", ("kimi-k2", "kimi-dev", "kimi-vl"), ("", "-72b", "-a3b"),
          ("moonshot", *OPEN_HOSTS[:10]), (0.15, 2.5)),
    Maker("microsoft", ("phi-3.5", "phi-4", "phi-4-mini"), ("", "-14b", "-multimodal"),
          ("azure", *OPEN_HOSTS[:6]), (0.02, 0.5)),
    Maker("nvidia", ("nemotron", "llama-3.1-nemotron", "nemotron-nano"),
          ("-49b", "-70b", "-253b", "-9b"), ("nvidia", *OPEN_HOSTS[:8]), (0.05, 2.0)),
    Maker("zhipu", ("glm-4.5", "glm-4.6", "glm-4.5-air"), ("", "-9b", "-355b-a32b"),
          ("zhipu", *OPEN_HOSTS[:8]), (0.1, 2.2)),
    Maker("ai21", ("jamba-large", "jamba-mini"), ("", "-1.6", "-1.7"),
          ("ai21", "bedrock", "azure"), (0.2, 8.0)),
)
MAKER_WEIGHTS = (8, 6, 8, 14, 12, 10, 14, 4, 4, 5, 4, 5, 4, 2)

VARIANTS = ("", "", "-instruct", "-chat", "-turbo", "-preview", "-fast", "-thinking", "-latest",
            "-vision", "-coder", "-base")
DATES = ("", "", "", "-2024-08-06", "-2024-11-20", "-0905", "-2507", "-20250514", "-20250929",
         "-0324", "-2503", "-1106")


@dataclass(frozen=True)
class Params:
    versions: int = 300
    models: int = 2000  # realistic: models in the last version; kind: in every version
    churn: float = 0.01
    seed: int = 1
    realistic: bool = True
    start_models: int = 50  # realistic: models in the first version

    def key(self) -> str:
        """A directory name that identifies the series (and the generator that made it)."""
        churn = f"{self.churn:g}".replace(".", "p")
        shape = f"r-m{self.start_models}to{self.models}" if self.realistic else f"k-m{self.models}"
        return f"g{GENERATOR_VERSION}-{shape}-v{self.versions}-c{churn}-s{self.seed}"


@dataclass
class Manifest:
    """What was generated: enough for the benchmark to drive the tracker against it."""

    params: Params
    generator_version: int
    repo: str
    file: str
    first_version: str
    last_version: str
    first_commit_at: str
    last_commit_at: str
    last_model_count: int
    last_size_bytes: int
    total_bytes: int
    unversioned: list[int] = field(default_factory=list)  # 0-based versions without a version
    revert_at: int | None = None  # the version that re-serves an earlier one
    events: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        return cls(**{**data, "params": Params(**data["params"])})


def catalog_version(index: int) -> str:
    """The catalog_version of version `index` (0-based): its commit date and a sequence number."""
    return f"{commit_time(index):%Y-%m-%d}.{index + 1:04d}"


def commit_time(index: int) -> datetime:
    return START + index * INTERVAL


class Series:
    """The evolving catalog. `step()` applies one version's churn; `payload()` serializes it.

    Models are kept in id order, and each model's JSON text is cached until it changes, so a
    version costs a join of cached strings plus re-serializing the models that changed (in
    the realistic series, also those whose providers were reordered or carry float noise).
    """

    def __init__(self, params: Params) -> None:
        self.params = params
        self.rng = random.Random(params.seed)
        self.realistic = params.realistic
        self.max_providers = max(REALISTIC_PROVIDER_COUNT_WEIGHTS) if self.realistic else 5
        self.ids: list[str] = []  # sorted; the order of data[] in the kind series
        self.models: dict[str, dict[str, Any]] = {}
        self.makers: dict[str, Maker] = {}
        self.used_ids: set[str] = set()
        self._next_suffix: dict[str, int] = {}
        self._text: dict[str, str] = {}
        self.events: dict[str, int] = dict.fromkeys(EVENT_WEIGHTS, 0)
        if self.realistic:
            self.events.update(growth=0, shrink=0, provider_reorders=0, noisy_prices=0,
                               unversioned=0, revert=0)
        # The realistic series' one-off events, drawn from a generator of their own so that
        # they do not shift the churn.
        plan = random.Random(f"{params.seed}-plan")
        last = params.versions - 1
        self.revert_at = round(REVERT_AT * last) if self.realistic and last >= 4 else -1
        self.shrink_at = round(SHRINK_AT * last) if self.realistic and last >= 4 else -1
        eligible = [i for i in range(1, last) if i not in (self.revert_at,
                                                           self.revert_at - REVERT_BACK)]
        self.unversioned = (set(plan.sample(eligible, min(UNVERSIONED_COUNT, len(eligible))))
                            if self.realistic else set())
        self._reverted: tuple[str, list[dict[str, Any]]] | None = None
        created = int((START - timedelta(days=720)).timestamp())
        for _ in range(params.start_models if self.realistic else params.models):
            self._add_model(created + self.rng.randrange(0, 700 * 86400))

    # --- building blocks ---

    def _new_id(self, maker: Maker) -> str:
        rng = self.rng
        for _ in range(50):
            candidate = (rng.choice(maker.families) + rng.choice(maker.sizes)
                         + rng.choice(VARIANTS) + rng.choice(DATES))
            if candidate not in self.used_ids:
                return candidate
        base = rng.choice(maker.families) + rng.choice(maker.sizes)
        n = self._next_suffix.get(base, 2)
        while f"{base}-v{n}" in self.used_ids:
            n += 1
        self._next_suffix[base] = n + 1
        return f"{base}-v{n}"

    def _price(self, low: float, high: float) -> float:
        value = math.exp(self.rng.uniform(math.log(low), math.log(high)))
        return round_price(value)

    def _provider(self, name: str, base_input: float, ratio: int) -> dict[str, Any]:
        factor = self.rng.uniform(0.85, 1.3) if self.rng.random() < 0.6 else 1.0
        input_price = round_price(base_input * factor)
        return {
            "name": name,
            "input_price": input_price,
            "output_price": round_price(input_price * ratio),
            "data_policy": self._policy(),
        }

    def _policy(self) -> str | None:
        return self.rng.choices(POLICIES, POLICY_WEIGHTS)[0]

    def _add_model(self, created: int) -> str:
        rng = self.rng
        maker = rng.choices(MAKERS, MAKER_WEIGHTS)[0]
        model_id = self._new_id(maker)
        weights = REALISTIC_PROVIDER_COUNT_WEIGHTS if self.realistic else PROVIDER_COUNT_WEIGHTS
        count = rng.choices(list(weights), list(weights.values()))[0]
        hosts = rng.sample(maker.hosts, min(count, len(maker.hosts)))
        if maker.hosts[0] not in hosts and rng.random() < 0.7:
            hosts[0] = maker.hosts[0]  # the maker's own API usually serves its models
        base = self._price(*maker.price_range)
        ratio = rng.choice(OUTPUT_RATIOS)
        embedding = rng.random() < 0.02
        model = {
            "id": model_id,
            "object": "model",
            "created": created,
            "owned_by": maker.name,
            "context_window": None if embedding else rng.choice(CONTEXT_WINDOWS),
            "supported_endpoints": (["chat_completions", "responses"]
                                    if rng.random() < 0.4 else ["chat_completions"]),
            "providers": [self._provider(host, base, ratio) for host in hosts],
        }
        self.used_ids.add(model_id)
        self.models[model_id] = model
        self.makers[model_id] = maker
        bisect.insort(self.ids, model_id)
        return model_id

    def _changed(self, model_id: str) -> None:
        self._text.pop(model_id, None)

    def _pick(self, condition: Callable[[dict[str, Any]], bool] | None = None) -> str | None:
        for _ in range(100):
            model_id = self.rng.choice(self.ids)
            if condition is None or condition(self.models[model_id]):
                return model_id
        return None

    # --- the churn events; each returns False when it found nothing to change ---

    def _event_price(self, created: int) -> bool:
        model_id = self._pick(lambda m: bool(m["providers"]))
        if model_id is None:
            return False
        provider = self.rng.choice(self.models[model_id]["providers"])
        fields = self.rng.choice((("input_price",), ("output_price",),
                                  ("input_price", "output_price")))
        factor = self.rng.choice((0.5, 0.6, 0.75, 0.8, 0.9, 0.95, 1.05, 1.1, 1.2, 1.25, 1.5))
        for name in fields:
            old = provider[name]
            new = round_price(old * factor)
            if new == old:
                new = round_price(old + (0.001 if old < 1 else 0.01))
            provider[name] = new
        self._changed(model_id)
        return True

    def _event_data_policy(self, created: int) -> bool:
        model_id = self._pick(lambda m: bool(m["providers"]))
        if model_id is None:
            return False
        provider = self.rng.choice(self.models[model_id]["providers"])
        provider["data_policy"] = self.rng.choice(
            [p for p in POLICIES if p != provider["data_policy"]]
        )
        self._changed(model_id)
        return True

    def _event_model_add(self, created: int) -> bool:
        self._add_model(created)
        return True

    def _event_model_remove(self, created: int) -> bool:
        if len(self.ids) <= 1:
            return False
        model_id = self.rng.choice(self.ids)
        self.ids.remove(model_id)
        del self.models[model_id]
        self._text.pop(model_id, None)
        return True

    def _event_provider_add(self, created: int) -> bool:
        def has_room(model: dict[str, Any]) -> bool:
            return len(model["providers"]) < min(self.max_providers,
                                                 len(self.makers[model["id"]].hosts))

        model_id = self._pick(has_room)
        if model_id is None:
            return False
        model = self.models[model_id]
        present = {p["name"] for p in model["providers"]}
        host = self.rng.choice([h for h in self.makers[model_id].hosts if h not in present])
        reference = model["providers"][0] if model["providers"] else None
        base = reference["input_price"] if reference else self._price(0.05, 5.0)
        ratio = round(reference["output_price"] / base) if reference and base else 4
        model["providers"].append(self._provider(host, base, max(ratio, 1)))
        self._changed(model_id)
        return True

    def _event_provider_remove(self, created: int) -> bool:
        model_id = self._pick(lambda m: len(m["providers"]) >= 2)
        if model_id is None:
            return False
        providers = self.models[model_id]["providers"]
        providers.pop(self.rng.randrange(len(providers)))
        self._changed(model_id)
        return True

    def _event_context_window(self, created: int) -> bool:
        model_id = self._pick(lambda m: m["context_window"] is not None)
        if model_id is None:
            return False
        model = self.models[model_id]
        model["context_window"] = self.rng.choice(
            [c for c in CONTEXT_WINDOWS if c != model["context_window"]]
        )
        self._changed(model_id)
        return True

    # --- versions ---

    def step(self, index: int) -> None:
        """Apply the churn that leads to version `index` (version 0 is the initial catalog)."""
        size = len(self.ids) if self.realistic else self.params.models
        mean = self.params.churn * size
        count = max(1, round(self.rng.uniform(0.5, 1.5) * mean)) if mean > 0 else 0
        created = int(commit_time(index).timestamp())
        kinds = list(EVENT_WEIGHTS)
        weights = list(EVENT_WEIGHTS.values())
        for _ in range(count):
            kind = self.rng.choices(kinds, weights)[0]
            handler = getattr(self, f"_event_{kind}")
            if handler(created):
                self.events[kind] += 1
        if self.realistic:
            self._grow(index, created)
            self._reorder_providers()

    # --- the realistic series: growth, order, noise, missing versions, a revert ---

    def target_size(self, index: int) -> int:
        """How many models version `index` is grown to (linear from start to final size)."""
        last = max(self.params.versions - 1, 1)
        start, final = self.params.start_models, self.params.models
        return round(start + (final - start) * index / last)

    def _grow(self, index: int, created: int) -> None:
        if index == self.shrink_at:  # a provider retires a batch of models at once
            for model_id in self.rng.sample(self.ids, round(SHRINK_SHARE * len(self.ids))):
                self._event_model_remove_id(model_id)
            self.events["shrink"] += 1
            return
        while len(self.ids) < self.target_size(index):
            self._add_model(created)
            self.events["growth"] += 1

    def _event_model_remove_id(self, model_id: str) -> None:
        self.ids.remove(model_id)
        del self.models[model_id]
        self._text.pop(model_id, None)

    def _reorder_providers(self) -> None:
        """Some models list their providers in another order (their content is the same)."""
        for model_id in self.ids:
            providers = self.models[model_id]["providers"]
            if len(providers) >= 2 and self.rng.random() < PROVIDER_REORDER_SHARE:
                before = [p["name"] for p in providers]
                self.rng.shuffle(providers)
                if [p["name"] for p in providers] != before:
                    self._changed(model_id)
                    self.events["provider_reorders"] += 1

    def _noisy_prices(self) -> dict[str, tuple[int, str, float]]:
        """For this version only: (provider index, field, noisy value) by model id."""
        noisy: dict[str, tuple[int, str, float]] = {}
        low, high = NOISY_PRICES_PER_VERSION
        for _ in range(self.rng.randint(low, high)):
            model_id = self._pick(lambda m: bool(m["providers"]))
            if model_id is None or model_id in noisy:
                continue
            providers = self.models[model_id]["providers"]
            position = self.rng.randrange(len(providers))
            name = self.rng.choice(("input_price", "output_price"))
            noisy[model_id] = (position, name, float_noise(providers[position][name],
                                                           self.rng.choice((-2, -1, 1))))
        return noisy

    def versions(self) -> Iterator[tuple[int, bytes]]:
        """Each version's `models.json` bytes, oldest first (advances the series)."""
        for index in range(self.params.versions):
            if index:
                self.step(index)
            yield index, self.payload(index)

    def payload(self, index: int) -> bytes:
        """Version `index` as the router would return it: json.dumps(indent=1) of the page."""
        if not self.realistic:
            parts = [self._model_text(model_id) for model_id in self.ids]
            return self._page(catalog_version(index), self.rng.randrange(5, 3600), parts)
        age = self.rng.randrange(5, 3600)
        if index == self.revert_at and self._reverted is not None:
            # The router rolls back to an earlier catalog for one version: the same version
            # and models, listed in another order.
            version, parts = self._reverted
            self.rng.shuffle(parts)
            self.events["revert"] += 1
            return self._page(version, age, parts)
        noisy = self._noisy_prices()
        self.events["noisy_prices"] += len(noisy)
        order = list(self.ids)
        self.rng.shuffle(order)
        parts = [self._noisy_text(i, *noisy[i]) if i in noisy else self._model_text(i)
                 for i in order]
        version: str | None = catalog_version(index)
        if index in self.unversioned:
            version = None
            self.events["unversioned"] += 1
        if index == self.revert_at - REVERT_BACK:
            self._reverted = (catalog_version(index), list(parts))
        return self._page(version, age, parts)

    @staticmethod
    def _page(version: str | None, age: int, parts: list[str]) -> bytes:
        head = '{\n "object": "list",\n'
        if version is not None:
            head += f' "catalog_version": {json.dumps(version)},\n'
        head += f' "catalog_age_seconds": {age},\n "data": ['
        if not parts:
            return (head + "]\n}").encode()
        return (head + "\n" + ",\n".join(parts) + "\n ]\n}").encode()

    def _noisy_text(self, model_id: str, position: int, name: str, value: float) -> str:
        model = self.models[model_id]
        providers = list(model["providers"])
        providers[position] = {**providers[position], name: value}
        return _model_json({**model, "providers": providers})

    def _model_text(self, model_id: str) -> str:
        text = self._text.get(model_id)
        if text is None:
            text = _model_json(self.models[model_id])
            self._text[model_id] = text
        return text


def _model_json(model: dict[str, Any]) -> str:
    """One model as an element of the page's `data` array (indented like json.dumps)."""
    dumped = json.dumps(model, indent=1)
    return "\n".join("  " + line for line in dumped.split("\n"))


def float_noise(value: float, steps: int) -> float:
    """`value` moved by `steps` units in the last place: 0.83 becomes 0.8299999999999998 (-2),
    the same price to 12 significant digits."""
    for _ in range(abs(steps)):
        value = math.nextafter(value, math.inf if steps > 0 else 0.0)
    return value


def wide_catalog(models: int, seed: int = 1) -> bytes:
    """One realistic catalog of `models` models (the first-fetch memory benchmark)."""
    series = Series(Params(versions=1, models=models, start_models=models, seed=seed))
    return series.payload(0)


def round_price(value: float) -> float:
    """A price as a router lists it: 3 decimals under $1, 2 above, never zero."""
    if value < 1:
        return max(round(value, 3), 0.001)
    return round(value, 2)


def _fast_import_stream(
    out: IO[bytes], versions: Iterator[tuple[int, bytes]], stats: dict[str, int]
) -> None:
    for index, body in versions:
        when = int(commit_time(index).timestamp())
        message = f"Latest data: {catalog_version(index)}\n".encode()
        out.write(
            f"commit refs/heads/{BRANCH}\n"
            f"author {AUTHOR} {when} +0000\n"
            f"committer {AUTHOR} {when} +0000\n"
            f"data {len(message)}\n".encode()
        )
        out.write(message)
        out.write(f"M 100644 inline {FILE_NAME}\ndata {len(body)}\n".encode())
        out.write(body)
        out.write(b"\n")
        stats["total_bytes"] += len(body)
        stats["last_size_bytes"] = len(body)
    out.write(b"done\n")


def generate(params: Params, out: Path) -> Manifest:
    """Create a fresh git repository at `out` holding the whole series; return its manifest.

    `out` must not exist (or be an empty directory). Everything goes through one
    `git fast-import`, which stores each version as a delta against the previous one.
    """
    started = time.perf_counter()
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"generate: {out} exists and is not empty")
    out.mkdir(parents=True, exist_ok=True)
    git = ["git", "-C", str(out)]
    subprocess.run([*git, "init", "--quiet", f"--initial-branch={BRANCH}"], check=True)

    series = Series(params)
    stats = {"total_bytes": 0, "last_size_bytes": 0}
    process = subprocess.Popen([*git, "fast-import", "--quiet", "--done"],
                               stdin=subprocess.PIPE)
    assert process.stdin is not None
    try:
        _fast_import_stream(process.stdin, series.versions(), stats)
    finally:
        process.stdin.close()
    if process.wait() != 0:
        raise SystemExit(f"generate: git fast-import failed (exit {process.returncode})")
    # Check out the last version so the working tree looks like a scraper's clone.
    subprocess.run([*git, "reset", "--quiet", "--hard"], check=True)

    last = max(params.versions - 1, 0)
    return Manifest(
        params=params,
        generator_version=GENERATOR_VERSION,
        repo=str(out),
        file=FILE_NAME,
        first_version=catalog_version(0),
        last_version=catalog_version(last),
        unversioned=sorted(series.unversioned),
        revert_at=series.revert_at if series.revert_at >= 0 else None,
        first_commit_at=commit_time(0).isoformat(),
        last_commit_at=commit_time(last).isoformat(),
        last_model_count=len(series.ids),
        last_size_bytes=stats["last_size_bytes"],
        total_bytes=stats["total_bytes"],
        events=series.events,
        seconds=round(time.perf_counter() - started, 3),
    )


def generate_cached(params: Params, cache_dir: Path, *, log: IO[str] = sys.stderr) -> Manifest:
    """The series for `params` under `cache_dir/<key>/`, generated on first use.

    A finished repository is marked by `<key>.json` (its manifest) next to it; a partial one
    left by an interrupted run is thrown away and made again.
    """
    repo = cache_dir / params.key()
    manifest_path = cache_dir / f"{params.key()}.json"
    if manifest_path.is_file() and repo.is_dir():
        return Manifest.from_json(json.loads(manifest_path.read_text()))
    if repo.exists():
        shutil.rmtree(repo)
    cache_dir.mkdir(parents=True, exist_ok=True)
    print(f"generating {params.versions} versions x {params.models} models into {repo} ...",
          file=log, flush=True)
    manifest = generate(params, repo)
    manifest_path.write_text(json.dumps(manifest.to_json(), indent=2) + "\n")
    print(f"generated in {manifest.seconds:.1f} s "
          f"({manifest.total_bytes / 1e6:.0f} MB of JSON, last version "
          f"{manifest.last_size_bytes / 1e6:.2f} MB)", file=log, flush=True)
    return manifest


def add_params_arguments(parser: argparse.ArgumentParser) -> None:
    """The series options, shared with bench/run.py."""
    defaults = Params()
    parser.add_argument("--versions", type=int, default=defaults.versions,
                        help=f"catalog versions (commits) [{defaults.versions}]")
    parser.add_argument("--models", type=int, default=defaults.models,
                        help="models in the last version (with --kind: in every version) "
                             f"[{defaults.models}]")
    parser.add_argument("--start-models", type=int, default=defaults.start_models,
                        help=f"models in the first version [{defaults.start_models}]; not "
                             "with --kind")
    parser.add_argument("--kind", action="store_true",
                        help="the old, kind series: constant size, sorted by id, clean prices, "
                             "every version with a catalog_version, no revert")
    parser.add_argument("--churn", type=float, default=defaults.churn,
                        help="changes per version as a fraction of the models "
                             f"[{defaults.churn}]")
    parser.add_argument("--seed", type=int, default=defaults.seed,
                        help=f"random seed [{defaults.seed}]")


def params_from_args(args: argparse.Namespace) -> Params:
    if (args.versions < 1 or args.models < 1 or args.start_models < 1
            or not 0 <= args.churn <= 1):
        raise SystemExit("need --versions >= 1, --models >= 1, --start-models >= 1 and "
                         "0 <= --churn <= 1")
    if args.kind:
        return Params(versions=args.versions, models=args.models, churn=args.churn,
                      seed=args.seed, realistic=False)
    return Params(versions=args.versions, models=args.models, churn=args.churn, seed=args.seed,
                  start_models=min(args.start_models, args.models))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate a synthetic /v1/models series as a git-scraping repository.",
        epilog="Example: python bench/generate.py --versions 300 --models 2000 --out /tmp/s",
    )
    add_params_arguments(parser)
    parser.add_argument("--out", type=Path, required=True,
                        help="directory for the new git repository (must not exist or be empty)")
    args = parser.parse_args(argv)
    manifest = generate(params_from_args(args), args.out)
    print(json.dumps(manifest.to_json(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
