"""Pure pieces of keeping secrets and remote text harmless: the scrubber knows every written
form of a key, a response body loses the key however it was JSON-escaped, and the visible
escaping shows what a terminal, a spreadsheet or a browser would hide."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tracker.logs import redact_body
from tracker.reports.format import md_escape, plain_text, visible, xml_text
from tracker.vocabulary import id_label


@pytest.fixture
def secrets() -> Any:
    """The logs module with no secret registered yet; the process's own put back afterwards."""
    from tracker import logs

    saved = logs.reset_secrets()
    yield logs
    logs.reset_secrets(saved)


def test_the_scrubber_removes_every_written_form_of_the_key(secrets: Any) -> None:
    """Whatever a library puts into a message: repr() of the header bytes, JSON, a URL."""
    key = "ak_live_sl/ash_5ecret"
    secrets.register_secret(key)
    for form in (key, repr(key), repr(f"Bearer {key}".encode()), json.dumps(key),
                 json.dumps(key).replace("/", "\\/"), "\\u0061k_live_sl\\/ash_5ecret",
                 "ak_live_sl%2Fash_5ecret"):
        assert "5ecret" not in secrets.scrub(f"failed: {form} (x)"), form


def test_log_lines_and_tracebacks_are_scrubbed(secrets: Any) -> None:
    from tracker.logs import _TextFormatter

    secrets.register_secret("ak_live_tr4ceback")
    try:
        raise ValueError(f"bad header {b'Bearer ak_live_tr4ceback'!r}")
    except ValueError as exc:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "boom: %r", (str(exc),),
                                   exc_info=(type(exc), exc, exc.__traceback__))
    assert "tr4ceback" not in _TextFormatter().format(record)


def test_a_body_loses_the_key_in_every_escaped_form_and_keeps_its_other_bytes() -> None:
    key = "ak_live/5ecret"
    text = ('{"a": "ak_live\\/5ecret", "b": "\\u0061k_live/5ecr\\u0065t", "c": "x\\/y", '
            '"d": "AK_LIVE/5ECRET", "e": "ak_live/5ecret"}')
    redacted, found = redact_body(text.encode(), key)
    assert found == 3
    assert json.loads(redacted) == {"a": "***", "b": "***", "c": "x/y", "d": "AK_LIVE/5ECRET",
                                    "e": "***"}
    assert b'"c": "x\\/y"' in redacted  # bytes without the key stay as received


INVISIBLE = {
    "zero-width space": "\u200b", "non-breaking hyphen": "\u2011", "no-break space": "\u00a0",
    "soft hyphen": "\u00ad", "word joiner": "\u2060", "byte order mark": "\ufeff",
    "right-to-left override": "\u202e", "first strong isolate": "\u2068",
    "minus sign": "\u2212", "tag latin a": "\U000e0061",
}


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_invisible_and_lookalike_characters_are_made_visible_everywhere(char: str) -> None:
    shown = f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}"
    for escape in (visible, plain_text, md_escape, xml_text):
        assert escape(f"gpt{char}4o") == f"gpt{shown}4o", escape.__name__


def test_prose_characters_stay_as_they_are() -> None:
    text = "gpt-4o — price ▼ 20% → $2.50 (naïve, 日本語, emoji 🙂)"
    assert visible(text) == plain_text(text) == text


def test_an_over_long_id_is_named_by_its_first_60_characters() -> None:
    assert id_label("m" * 60) == repr("m" * 60)
    assert id_label("m" * 61 + "q" * 9_939) == f"{'m' * 60!r}… (10,000 characters)"
