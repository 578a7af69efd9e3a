"""Analyst labels imported from a file (``signaldesk label FILE``) have a text and no stored signal.

A later label on the same text replaces the earlier one (as a later verdict on a signal does), so
this index finds it without scanning every outcome.

No semicolons inside comments or strings below: the migration runner splits on them.
"""

SQL = """
CREATE INDEX outcomes_analyst_text ON outcomes(text) WHERE source = 'analyst' AND signal_id IS NULL
"""
