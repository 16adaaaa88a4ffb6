"""Helpers the tests share; tests/conftest.py declares the fixtures built on them.

- cli.py: `tracker ...` in this process (`Tracker`) or as a process (`TrackerProcess`)
- server.py: the loopback catalog server; faults.py: one that misbehaves as networks do
- receiver.py: a loopback receiver for notifications
- db.py: test databases on both backends, copied from ones laid once; plain-SQL reads
- histories.py: the catalog history the report tests read
- builders.py: catalogs in the documented shape; strategies.py: Hypothesis strategies
- git.py: git-scraping repositories; locks.py: holding a run lock; paths.py: the checkout
"""
