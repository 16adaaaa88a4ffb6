"""Storage, and every SQL statement of the tool: `schema` (the tables), `db` (engines and
migrations), `reads` (every query), `writes` (every insert, update and lock), `rawbody` (the
compressed bodies received)."""
