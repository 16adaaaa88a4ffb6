"""Bundled sample catalogs served by `tracker demo`."""
