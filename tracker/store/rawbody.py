"""Compression of the exact bodies received, kept for audit.

Consecutive catalog versions differ by a few percent, so each body is compressed with zstd
using the previous snapshot's body as a dictionary: a delta of a few kilobytes instead of a
full copy. Every `KEYFRAME_EVERY`-th snapshot of a source is compressed on its own, which bounds
how many bodies must be decompressed to read one back.
"""

from __future__ import annotations

import zstandard

KEYFRAME_EVERY = 32
# Measured on 1 MB catalogs: a delta at level 3 is ~1 KB in 4 ms (level 6: 0.6 KB in 10 ms);
# keyframes are rare, so they get a higher level (9: 67 KB instead of 91 KB at level 3).
DELTA_LEVEL = 3
KEYFRAME_LEVEL = 9


def compress(body: bytes, base: bytes | None = None) -> bytes:
    """`body` compressed on its own, or as a delta against `base` when given."""
    if base is None:
        return zstandard.ZstdCompressor(level=KEYFRAME_LEVEL).compress(body)
    dictionary = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    return zstandard.ZstdCompressor(level=DELTA_LEVEL, dict_data=dictionary).compress(body)


def decompress(blob: bytes, base: bytes | None = None) -> bytes:
    if base is None:
        return zstandard.ZstdDecompressor().decompress(blob)
    dictionary = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    return zstandard.ZstdDecompressor(dict_data=dictionary).decompress(blob)
