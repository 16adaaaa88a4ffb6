"""catalog-tracker: watch an LLM router's model catalog and report what changed.

The pieces are importable on their own, like the CLI that wraps them:

>>> from tracker.catalog import parse_catalog
>>> from tracker.diff import diff_catalogs

Data flows one way: client (fetch) -> catalog (validate, normalize) -> store -> diff -> reports.
"""

__version__ = "0.1.0"
