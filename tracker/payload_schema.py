"""The documented `/v1/models` schema, as msgspec types.

msgspec validates a model's JSON text directly, in C, without building Python dicts first;
it costs a few milliseconds to import where pydantic cost a fifth of a second, which matters
for a cron job that mostly finds nothing new. The types only check: unknown fields are
allowed here and kept by the normalization, which reads the decoded JSON itself.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

NonEmptyStr = Annotated[str, msgspec.Meta(min_length=1)]
# Ids, provider names and versions are indexed; PostgreSQL bounds an index entry (~2.7 KB),
# so they are bounded too. Real ids are a few dozen characters.
MAX_NAME = 500
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME)]
Price = Annotated[float, msgspec.Meta(ge=0)]  # JSON has no NaN or Infinity; msgspec refuses them


class ProviderSchema(msgspec.Struct):
    name: Name
    input_price: Price
    output_price: Price
    data_policy: NonEmptyStr | None = None


class ModelSchema(msgspec.Struct):
    id: Name
    created: int
    owned_by: Annotated[str, msgspec.Meta(max_length=MAX_NAME)]
    object: str | None = None
    context_window: Annotated[int, msgspec.Meta(ge=0)] | None = None
    supported_endpoints: list[NonEmptyStr] | None = None
    providers: list[ProviderSchema] = msgspec.field(default_factory=list)


# The envelope's members, checked one by one (the body is first split into members).
ENVELOPE_REQUIRED = ("object", "data")
ENVELOPE_TYPES: dict[str, object] = {
    "object": str,
    "catalog_version": Name | None,
    "catalog_age_seconds": float | None,
}

model_decoder = msgspec.json.Decoder(ModelSchema)
members_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
items_decoder = msgspec.json.Decoder(list[msgspec.Raw])
