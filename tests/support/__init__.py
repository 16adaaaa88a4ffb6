"""Helpers the tests share: a loopback catalog server, fault injection, catalog builders,
the `tracker` runner (in-process and as a process), databases and the report histories.

conftest.py declares the fixtures; the tests import what they need from here.
"""
