"""Compression of the exact bodies received, kept for audit.

Consecutive catalog versions differ by a few percent, so each body is stored as a delta against
the previous snapshot's body: a few kilobytes instead of a full copy. Every
`KEYFRAME_EVERY`-th snapshot of a source is compressed on its own (a plain zstd frame), which
bounds how many bodies must be decompressed to read one back.

Real routers list their models in another order on every poll, which a byte-level delta
barely survives (tens of kilobytes per version, and a slow search of a megabyte dictionary).
So a JSON body with a `data` array is cut into its *form* (`Form`): its head and tail, the
texts of its items (the models) sorted bytewise, the whitespace between them, and the
permutation that restores their order; the body comes back from its form byte for byte. A
delta between two forms (`SORTED_DELTA`, then two zstd frames) lists which items are the
base's, by index, and holds only the others (new and changed models), compressed with the
base's items they replace as the dictionary. Any other delta is a zstd frame compressed with
the base body itself as its dictionary (as every delta written before this form existed, which
read back as they always did).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from typing import TypeVar

import msgspec
import zstandard

from tracker.json_runs import GAP, uniform_run

KEYFRAME_EVERY = 32
# The levels trade size for the import's CPU, which a backfill spends most of (issue 11): a
# delta compressed against the base's unkept items takes 0.55 ms at level 3 and 0.13 ms at 1;
# a keyframe of a 1 MB catalog 91 KB at level 3, 67 KB at 9 for three times the time. The
# benchmark's 300 versions: 7.2 MB at levels 3 and 9, 7.8 MB at 1 and 3, 0.2 s of CPU less.
DELTA_LEVEL = 1
KEYFRAME_LEVEL = 3

# Marks a delta between forms (a zstd frame starts with 28 b5 2f fd).
SORTED_DELTA = b"TKS1"
# After it: the size of the first frame; in that frame, the head, tail, items and literals
# counts, then the lists.
_SIZE = struct.Struct("<I")
_HEADER = struct.Struct("<IIII")

_T = TypeVar("_T")


_LAST_DIGEST: tuple[bytes, str] | None = None


def sha256_hex(body: bytes) -> str:
    """The SHA-256 of `body`, in hex; the last body's is remembered (the pipeline and the
    snapshot row both need it: 164 MB of bodies for a backfill of 300 versions)."""
    global _LAST_DIGEST
    if _LAST_DIGEST is not None and _LAST_DIGEST[0] is body:
        return _LAST_DIGEST[1]
    digest = hashlib.sha256(body).hexdigest()
    _LAST_DIGEST = (body, digest)
    return digest


def compress(body: bytes, base: bytes | None = None,
             items: Sequence[bytes] | None = None) -> bytes:
    """`body` compressed on its own, or as a delta against `base` when given. `items`: the
    texts of the body's `data` items, when its parse already split them (saves a decode)."""
    if base is None:
        return zstandard.ZstdCompressor(level=KEYFRAME_LEVEL).compress(body)
    base_form = body_form(base)  # first: usually the form the previous delta made
    form = body_form(body, items)
    if form is not None and base_form is not None:
        return form.delta_from(base_form)
    return _delta(body, base)


def decompress(blob: bytes, base: bytes | None = None) -> bytes:
    """The body of `blob`, compressed on its own or (with `base`) as a delta against it."""
    if base is None:
        return zstandard.ZstdDecompressor().decompress(blob)
    if blob.startswith(SORTED_DELTA):
        return Form.undelta(blob, _form_of(base)).body()
    return _undelta(blob, base)


def decompress_chain(blobs: Sequence[bytes]) -> bytes:
    """The body at the end of a delta chain: `blobs` from the keyframe to the body, each a
    delta against the one before it. Consecutive sorted deltas are undone between forms, so
    the keyframe is cut into its form once for the whole chain, not once per link."""
    body: bytes | None = decompress(blobs[0])
    form: Form | None = None
    for blob in blobs[1:]:
        if blob.startswith(SORTED_DELTA):
            form = Form.undelta(blob, form if form is not None else _form_of(_known(body)))
            body = None
        else:
            body = _undelta(blob, body if body is not None else _known(form).body())
            form = None
    return body if body is not None else _known(form).body()


def _known(value: _T | None) -> _T:
    assert value is not None  # one of a chain's body and form is always known
    return value


def _delta(data: bytes, dictionary: bytes) -> bytes:
    # The level's parameters are chosen for this dictionary's size (hash tables large enough
    # to find matches anywhere in it); explicit parameters would be sized for `data` alone.
    return zstandard.ZstdCompressor(level=DELTA_LEVEL,
                                    dict_data=_dictionary(dictionary)).compress(data)


def _undelta(blob: bytes, dictionary: bytes) -> bytes:
    return zstandard.ZstdDecompressor(dict_data=_dictionary(dictionary)).decompress(blob)


def _dictionary(content: bytes) -> zstandard.ZstdCompressionDict:
    return zstandard.ZstdCompressionDict(content, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


# --- forms ---


class Form:
    """A JSON body with a `data` array, cut so that its items can be compared and sorted:
    `head` + gap[0] + item[place[0]] + gap[1] + ... + gap[n] + `tail` is the body, where
    `items` are sorted bytewise and `place[i]` is the rank of the body's i-th item."""

    __slots__ = ("gaps", "head", "items", "place", "tail")

    def __init__(self, head: bytes, tail: bytes, gaps: list[bytes], place: list[int],
                 items: list[bytes]) -> None:
        self.head, self.tail, self.gaps, self.place, self.items = head, tail, gaps, place, items

    def body(self) -> bytes:
        parts = [self.head]
        for gap, rank in zip(self.gaps, self.place, strict=False):
            parts.append(gap)
            parts.append(self.items[rank])
        parts.append(self.gaps[-1])
        parts.append(self.tail)
        return b"".join(parts)

    def delta_from(self, base: Form) -> bytes:
        """This form as a delta against `base`: each item that is one of the base's, by its
        index; the others as text, compressed against the base items nobody kept."""
        steps: list[int] = []  # per item: how far past the last kept base item it is; 0: new
        literals: list[bytes] = []
        unkept: list[bytes] = []
        old, count, i, last = base.items, len(base.items), 0, -1
        for item in self.items:
            while i < count and old[i] < item:
                unkept.append(old[i])
                i += 1
            if i < count and old[i] == item:
                steps.append(i - last)
                last = i
                i += 1
            else:
                steps.append(0)
                literals.append(item)
        unkept.extend(old[i:])
        n = len(self.items)
        layout = b"".join((
            _HEADER.pack(len(self.head), len(self.tail), n, len(literals)),
            self.head, self.tail,
            struct.pack(f"<{n + 1}I", *map(len, self.gaps)), b"".join(self.gaps),
            struct.pack(f"<{n}I", *self.place), struct.pack(f"<{n}I", *steps),
            struct.pack(f"<{len(literals)}I", *map(len, literals)),
        ))
        first = zstandard.ZstdCompressor(level=DELTA_LEVEL).compress(layout)
        text = b"".join(literals)
        second = (_delta(text, b"".join(unkept)) if unkept
                  else zstandard.ZstdCompressor(level=DELTA_LEVEL).compress(text))
        return SORTED_DELTA + _SIZE.pack(len(first)) + first + second

    @classmethod
    def undelta(cls, blob: bytes, base: Form) -> Form:
        """The form a `delta_from(base)` blob was made of."""
        at = len(SORTED_DELTA)
        (size,) = _SIZE.unpack_from(blob, at)
        at += _SIZE.size
        layout = zstandard.ZstdDecompressor().decompress(blob[at:at + size])
        second = blob[at + size:]
        head_size, tail_size, n, literal_count = _HEADER.unpack_from(layout)
        at = _HEADER.size
        head, at = layout[at:at + head_size], at + head_size
        tail, at = layout[at:at + tail_size], at + tail_size
        gap_sizes = struct.unpack_from(f"<{n + 1}I", layout, at)
        at += 4 * (n + 1)
        gaps = []
        for gap_size in gap_sizes:
            gaps.append(layout[at:at + gap_size])
            at += gap_size
        place = list(struct.unpack_from(f"<{n}I", layout, at))
        steps = struct.unpack_from(f"<{n}I", layout, at + 4 * n)
        literal_sizes = struct.unpack_from(f"<{literal_count}I", layout, at + 8 * n)
        kept, last = [], -1
        for step in steps:
            if step:
                last += step
                kept.append(last)
        kept_set = set(kept)
        unkept = [item for index, item in enumerate(base.items) if index not in kept_set]
        text = (_undelta(second, b"".join(unkept)) if unkept
                else zstandard.ZstdDecompressor().decompress(second))
        items, kept_at, offset = [], 0, 0
        for step in steps:
            if step:
                items.append(base.items[kept[kept_at]])
                kept_at += 1
            else:
                size = literal_sizes[len(items) - kept_at]
                items.append(text[offset:offset + size])
                offset += size
        return cls(head, tail, gaps, place, items)


# The last forms made, with their bodies, the newest first: a delta's base is the body the
# previous delta was made of (the very object: the pipeline keeps it), so each body is cut
# once. Found by identity: hashing a new body to look it up took a tenth of a second of a
# backfill of 300 versions (164 MB); an equal body that is another object is cut again.
_FORMS: list[tuple[bytes, Form | None]] = []
_FORMS_KEPT = 2


class _Envelope(msgspec.Struct):
    data: list[msgspec.Raw]


_envelope = msgspec.json.Decoder(_Envelope)


def body_form(body: bytes, items: Sequence[bytes] | None = None) -> Form | None:
    """The form of `body` (`items`: its `data` items' texts, if known); None when it is not a
    JSON object whose `data` array has at least two items, or when its items cannot be
    located (then a plain delta is made)."""
    for known, form in _FORMS:
        if known is body:
            return form
    form = _make_form(body, items)
    _FORMS[:] = [(body, form), *_FORMS[:_FORMS_KEPT - 1]]
    return form


def _form_of(body: bytes) -> Form:
    form = body_form(body)
    if form is None:
        raise ValueError("a sorted delta against a body that has no form")
    return form


def _make_form(body: bytes, known: Sequence[bytes] | None) -> Form | None:
    if known is not None:
        items = list(known)
    else:
        try:
            items = list(map(bytes, _envelope.decode(body).data))
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            return None
    if len(items) < 2:
        return None
    # Locate the items in the body: the first by its text, each next one right after the
    # whitespace and comma that follow the one before, checked in place; the gaps are the
    # bytes between them. So the form gives the body back exactly, by construction. Most
    # bodies separate their items alike (",\n  " or ","): then one comparison checks them all.
    start = body.find(items[0])
    bracket = body.rfind(b"[", 0, start) if start >= 0 else -1
    if bracket < 0:
        return None
    located = _uniform_gaps(body, bracket, start, items) or _each_gap(body, bracket, items)
    if located is None:
        return None
    gaps, position = located
    end = body.find(b"]", position)
    if end < 0:
        return None
    gaps.append(body[position:end + 1])
    order = sorted(range(len(items)), key=items.__getitem__)
    place = [0] * len(order)  # the inverse permutation, filled in C
    list(map(place.__setitem__, order, range(len(order))))
    return Form(body[:bracket], body[end + 1:], gaps, place, [items[i] for i in order])


def _uniform_gaps(body: bytes, bracket: int, start: int,
                  items: list[bytes]) -> tuple[list[bytes], int] | None:
    """The gaps before each item and where the last item ends, when every item after the
    first follows the one before it after the same separator."""
    located = uniform_run(body, start, items)
    if located is None:
        return None
    separator, end = located
    return [body[bracket:start], *[separator] * (len(items) - 1)], end


def _each_gap(body: bytes, bracket: int, items: list[bytes]) -> tuple[list[bytes], int] | None:
    """The gaps before each item and where the last item ends, item by item."""
    gaps: list[bytes] = []
    position = bracket
    for item in items:
        at = GAP.match(body, position + (position == bracket)).end()  # type: ignore[union-attr]
        if not body.startswith(item, at):
            return None
        gaps.append(body[position:at])
        position = at + len(item)
    return gaps, position
