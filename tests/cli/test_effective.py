"""Effective prices end to end, on both backends: what a team at a data-policy floor pays, as
`tracker effective`, `tracker diff --effective`, reports, changelogs and `tracker history` show
it. Catalogs are ingested as a user would, observed a day apart.

The series of `llama-70b` (prices USD per 1M tokens, blended = (3 x input + output) / 4):

    v1  groq 0.59/0.79 zdr (0.64)  deepinfra 0.23/0.40 zdr (0.2725)  fireworks 0.90/0.90 zdr
        together 0.88/0.88 none
    v2  deepinfra removed: the effective offer moves to groq (zdr and any)
    v3  fireworks cuts to 0.30/0.30 (0.30): a non-effective offer becomes effective
    v4  fireworks and groq weaken: no zdr offer left; at no_training groq, at any fireworks

and of `tie-model`: b-host 1/9 and a-host 2/6 blend to 3.00 alike (b-host wins on its lower
input price); in v2 a2 arrives at 1/9, the same prices as b-host, and wins on its name.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from support.builders import DEMO_ZDR_JUMP, catalog, model, provider
from support.cli import Tracker

from tracker.demo import demo_catalogs

DAYS = {"v1": "2026-11-01T09:00:00Z", "v2": "2026-11-02T09:00:00Z",
        "v3": "2026-11-03T09:00:00Z", "v4": "2026-11-04T09:00:00Z"}


def series() -> dict[str, dict[str, Any]]:
    llama = {
        "v1": [provider("groq", 0.59, 0.79), provider("deepinfra", 0.23, 0.40),
               provider("fireworks", 0.90, 0.90), provider("together", 0.88, 0.88, "none")],
        "v2": [provider("groq", 0.59, 0.79), provider("fireworks", 0.90, 0.90),
               provider("together", 0.88, 0.88, "none")],
        "v3": [provider("groq", 0.59, 0.79), provider("fireworks", 0.30, 0.30),
               provider("together", 0.88, 0.88, "none")],
        "v4": [provider("groq", 0.59, 0.79, "no_training"),
               provider("fireworks", 0.30, 0.30, "none"),
               provider("together", 0.88, 0.88, "none")],
    }
    tie = [provider("b-host", 1, 9), provider("a-host", 2, 6)]
    ties = {"v1": tie, "v2": [*tie, provider("a2", 1, 9)]}
    return {version: catalog(model("llama-70b", *llama[version]),
                             model("tie-model", *ties.get(version, ties["v2"])),
                             version=version)
            for version in DAYS}


def ingest(tracker: Tracker, tmp_path: Path, bodies: dict[str, bytes],
           days: dict[str, str]) -> None:
    for version, body in bodies.items():
        path = tmp_path / f"{version}.json"
        path.write_bytes(body)
        tracker("ingest", str(path), "--observed-at", days[version])


def lay_series(tracker: Tracker, tmp_path: Path) -> None:
    ingest(tracker, tmp_path, {v: json.dumps(p).encode() for v, p in series().items()}, DAYS)


def effective(tracker: Tracker, *args: str) -> list[tuple[str, str, str, float]]:
    rows = json.loads(tracker("effective", *args, "--format", "json").stdout)
    return [(r["model"], r["floor"], r["provider"], r["blended"]) for r in rows]


def moves(diff: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(c["model"], c["field"], (c["old"] or {}).get("provider"),
             (c["new"] or {}).get("provider"), c["change_pct"], c["causes"])
            for c in diff["changes"] if c["kind"] == "effective_price_changed"]


def diff(tracker: Tracker, *args: str) -> dict[str, Any]:
    return json.loads(tracker("diff", *args, "--format", "json").stdout)


def schema() -> jsonschema.Draft202012Validator:
    text = resources.files("tracker").joinpath("diff.schema.json").read_text()
    return jsonschema.Draft202012Validator(json.loads(text))


def test_the_demo_zdr_jump(tracker: Tracker, tmp_path: Path) -> None:
    days = {f"c{n}": f"2026-11-0{n}T09:00:00Z" for n in (1, 2, 3)}
    ingest(tracker, tmp_path, dict(zip(days, demo_catalogs()[:3], strict=False)), days)

    # The plain diff says a policy changed and no price did.
    plain = diff(tracker, "2026-11-02.1", "2026-11-03.1")
    assert moves(plain) == []
    assert {c["kind"] for c in plain["changes"] if c["model"] == "llama-3.3-70b-instruct"} \
        == {"data_policy_changed"}

    # For a zdr-only team the price jumped: +134.86% blended.
    asked = diff(tracker, "2026-11-02.1", "2026-11-03.1", "--effective", "zdr")
    schema().validate(asked)
    [jump] = [c for c in asked["changes"] if c["kind"] == "effective_price_changed"
              and c["model"] == "llama-3.3-70b-instruct"]
    assert jump == DEMO_ZDR_JUMP
    # the derived records come after the stored ones
    kinds = [c["kind"] for c in asked["changes"]]
    assert kinds.index("effective_price_changed") > max(
        i for i, k in enumerate(kinds) if k != "effective_price_changed")

    # As of each day, `tracker effective` names the offer.
    assert effective(tracker, "llama-3.3-70b-instruct", "--floor", "zdr", "--at",
                     "2026-11-02T12:00Z") == [("llama-3.3-70b-instruct", "zdr", "deepinfra",
                                               0.2725)]
    assert effective(tracker, "llama-3.3-70b-instruct", "--at", "2026-11-03T12:00Z") == [
        ("llama-3.3-70b-instruct", "zdr", "groq", 0.64),
        ("llama-3.3-70b-instruct", "no_training", "groq", 0.64),
        ("llama-3.3-70b-instruct", "any", "deepinfra", 0.2725)]

    # The changelog says why, in words.
    markdown = tracker("diff", "2026-11-02.1", "2026-11-03.1", "--effective", "zdr",
                       "--format", "md").stdout
    assert ("| llama-3.3-70b-instruct | zdr | deepinfra $0.2725 | groq $0.64 | ▲ +134.9% | "
            "deepinfra weakened to none; next zdr offer: groq |") in markdown
    assert markdown.index("## Effective prices") < markdown.index("## Data-policy changes")


def test_removal_price_cut_lost_offer_and_ties(tracker: Tracker, tmp_path: Path) -> None:
    lay_series(tracker, tmp_path)
    validator = schema()

    # v1 -> v2: deepinfra removed; the effective offer moves to groq. The tie: a2 arrives at
    # b-host's prices, blends to the same 3.00 and wins on its name.
    first = diff(tracker, "v1", "v2", "--effective", "zdr", "--effective", "any")
    validator.validate(first)
    assert moves(first) == [
        ("llama-70b", "effective.zdr", "deepinfra", "groq", 134.86, ["provider_removed"]),
        ("llama-70b", "effective.any", "deepinfra", "groq", 134.86, ["provider_removed"]),
        ("tie-model", "effective.zdr", "b-host", "a2", 0.0, ["provider_added"]),
        ("tie-model", "effective.any", "b-host", "a2", 0.0, ["provider_added"]),
    ]
    # b-host beat a-host (the same blended price) on its lower input price
    assert effective(tracker, "tie-model", "--floor", "zdr", "--at", DAYS["v1"]) == [
        ("tie-model", "zdr", "b-host", 3)]

    # v2 -> v3: fireworks, not effective, cuts its price and becomes effective.
    second = diff(tracker, "v2", "v3", "--effective", "zdr")
    validator.validate(second)
    assert moves(second) == [
        ("llama-70b", "effective.zdr", "groq", "fireworks", -53.12, ["price_changed"])]

    # v3 -> v4: llama-70b loses its last zdr offer; no_training falls back to groq; at any,
    # fireworks stays effective (a weakening does not matter there): no record.
    third = diff(tracker, "v3", "v4", "--effective", "zdr", "--effective", "no_training",
                 "--effective", "any")
    validator.validate(third)
    assert moves(third) == [
        ("llama-70b", "effective.zdr", "fireworks", None, None, ["data_policy_changed"]),
        ("llama-70b", "effective.no_training", "fireworks", "groq", 113.33,
         ["data_policy_changed"]),
    ]
    lost = next(c for c in third["changes"] if c["kind"] == "effective_price_changed")
    assert lost["new"] is None and lost["provider"] == "fireworks"

    # `tracker effective` leaves out a floor without a qualifying offer; named, it says none.
    assert effective(tracker, "llama-70b") == [
        ("llama-70b", "no_training", "groq", 0.64), ("llama-70b", "any", "fireworks", 0.3)]
    text = tracker("effective", "llama-70b", "--floor", "zdr").stdout
    assert "llama-70b  zdr    none" in text and "no qualifying offer" in text
    csv = tracker("effective", "--floor", "any", "--format", "csv").stdout
    assert csv.splitlines() == ["model,floor,provider,input_price,output_price,blended",
                                "llama-70b,any,fireworks,0.3,0.3,0.3",
                                "tie-model,any,a2,1,9,3"]

    # A model the catalog does not have is a one-line error naming the closest.
    failed = tracker("effective", "llama-7b", check=2)
    assert failed.stderr.startswith("tracker: error: model 'llama-7b' is not in the catalog")
    assert "did you mean: llama-70b" in failed.stderr and len(failed.stderr.splitlines()) == 1


def test_reports_and_changelogs_lead_with_effective_prices_when_floors_are_configured(
    tracker: Tracker, tmp_path: Path
) -> None:
    cli = tracker.configured(tmp_path / "tracker.toml", 'effective_floors = ["zdr", "any"]\n')
    lay_series(cli, tmp_path)

    report = json.loads(cli("report", "--since", "2026-11-01", "--until", "2026-11-05",
                            "--format", "json").stdout)
    assert report["effective_floors"] == ["zdr", "any"]
    # net, v1 -> v4: at zdr deepinfra -> none; at any deepinfra -> fireworks (0.2725 -> 0.30),
    # which both deepinfra's removal and fireworks' cut brought about
    assert moves({"changes": report["net"]}) == [
        ("llama-70b", "effective.zdr", "deepinfra", None, None, ["provider_removed"]),
        ("llama-70b", "effective.any", "deepinfra", "fireworks", 10.09,
         ["provider_removed", "price_changed"]),
        ("tie-model", "effective.zdr", "b-host", "a2", 0.0, ["provider_added"]),
        ("tie-model", "effective.any", "b-host", "a2", 0.0, ["provider_added"]),
    ]
    # the timeline: each transition with its own effective records
    assert [[(m[0], m[1], m[2], m[3]) for m in moves(event)] for event in report["events"]] == [
        [("llama-70b", "effective.zdr", "deepinfra", "groq"),
         ("llama-70b", "effective.any", "deepinfra", "groq"),
         ("tie-model", "effective.zdr", "b-host", "a2"),
         ("tie-model", "effective.any", "b-host", "a2")],
        [("llama-70b", "effective.zdr", "groq", "fireworks"),
         ("llama-70b", "effective.any", "groq", "fireworks")],
        [("llama-70b", "effective.zdr", "fireworks", None)],
    ]
    # without floors configured, the same report has none
    plain = json.loads(tracker("report", "--since", "2026-11-01", "--until", "2026-11-05",
                               "--format", "json").stdout)
    assert "effective_floors" not in plain and moves({"changes": plain["net"]}) == []

    markdown = cli("report", "--since", "2026-11-01", "--until", "2026-11-05").stdout
    assert markdown.index("## Effective price") < markdown.index("## Highlights")
    assert ("| llama-70b | zdr | deepinfra $0.2725 | none | ▲ no offer left | deepinfra "
            "removed; no zdr offer left |") in markdown
    html = cli("report", "--since", "2026-11-01", "--until", "2026-11-05", "--format",
               "html").stdout
    assert html.index('id="source-1-effective"') < html.index('id="source-1-highlights"')
    assert ("deepinfra removed; fireworks input $0.90 → $0.30, output $0.90 → $0.30; next "
            "offer: fireworks") in html

    # changelogs written by ingest carry them too
    [changelog] = sorted((tmp_path / "reports").glob("changelog-20261103*.md"))
    text = changelog.read_text()
    assert "## Effective prices" in text
    assert "| llama-70b | zdr | groq $0.64 | fireworks $0.30 | ▼ -53.1% | fireworks input " \
           "$0.90 → $0.30, output $0.90 → $0.30; now the cheapest zdr offer |" in text


def test_history_draws_the_effective_line_per_floor(tracker: Tracker, tmp_path: Path) -> None:
    lay_series(tracker, tmp_path)
    history = json.loads(tracker("history", "llama-70b", "--format", "json").stdout)
    lines = {e["floor"]: [(i["from"], i["to"], i["provider"], i["blended"])
                          for i in e["intervals"]] for e in history["effective"]}
    assert lines["zdr"] == [(DAYS["v1"], DAYS["v2"], "deepinfra", 0.2725),
                            (DAYS["v2"], DAYS["v3"], "groq", 0.64),
                            (DAYS["v3"], DAYS["v4"], "fireworks", 0.3)]  # none since v4
    assert lines["no_training"][-1] == (DAYS["v4"], None, "groq", 0.64)
    assert lines["any"] == [(DAYS["v1"], DAYS["v2"], "deepinfra", 0.2725),
                            (DAYS["v2"], DAYS["v3"], "groq", 0.64),
                            (DAYS["v3"], None, "fireworks", 0.3)]
    # over every provider, also when one provider is asked for
    only = json.loads(tracker("history", "llama-70b", "--provider", "together", "--format",
                              "json").stdout)
    assert only["effective"] == history["effective"]

    text = tracker("history", "llama-70b").stdout
    assert "effective at zdr (the cheapest zdr offer by blended price)" in text
    page = tracker("history", "llama-70b", "--format", "html").stdout
    assert page.count('<g class="effective"') == 6  # a band per floor on both price charts
    assert "effective at zdr: groq, $0.59 per 1M tokens (blended $0.64)" in page
    assert "<h2>Effective price per floor</h2>" in page


def test_the_feed_and_the_site_carry_effective_prices_when_floors_are_configured(
    tracker: Tracker, tmp_path: Path
) -> None:
    cli = tracker.configured(tmp_path / "tracker.toml", 'effective_floors = ["zdr"]\n')
    lay_series(cli, tmp_path)

    feed = cli("feed").stdout
    assert "effective price (zdr)" in feed
    assert "deepinfra removed; next zdr offer: groq" in feed
    assert "effective price (zdr)" not in tracker("feed").stdout  # no floors: none

    cli("site", str(tmp_path / "site"))
    page = (tmp_path / "site" / "models" / "llama-70b.html").read_text()
    assert page.count('<g class="effective"') == 2  # the zdr band, on both price charts
    [weekly] = (tmp_path / "site" / "weekly").glob("weekly-2026-W45.html")
    assert ">Effective price</h2>" in weekly.read_text()
