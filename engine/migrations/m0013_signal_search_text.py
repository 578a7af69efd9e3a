"""Signals keep a case-folded copy of their text for searches that fold every script.

SQLite's LIKE folds only ASCII, so the Live search missed "élan" for "ÉLAN". ``search_text`` is
``engine.textsearch.fold(text)``, written by ``Store.add_signals`` with each row; existing rows are
filled here through the same function, which the Store registers on its connection before
migrating. A search is then a plain GLOB over this column (see engine/textsearch.py).
"""

SQL = """
ALTER TABLE signals ADD COLUMN search_text TEXT;
UPDATE signals SET search_text = signaldesk_fold(text);
"""
