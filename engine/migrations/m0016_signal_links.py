"""Signals keep where each linked asset came from (issue #17): a JSON list of
``{symbol, start, end, text, method, role}`` (engine.types.EntityLink). Rows stored before this have
NULL here and read back with no links; their ``entities`` are unchanged."""

SQL = """
ALTER TABLE signals ADD COLUMN links TEXT;
"""
