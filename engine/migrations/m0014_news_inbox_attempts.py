"""Failed news items are retried with backoff and end in a dead-letter list (issue 22 item 3).

``attempts`` counts scoring attempts that failed (across runs), ``next_attempt_at`` is when the
next one is due (unix seconds, shown in the dead-letter list), ``error`` keeps the last error.
A row stays ``pending`` while it has attempts left and becomes ``failed`` (the dead-letter
list) after ``max_attempts``. Rows marked failed before this migration had only one run's quick
retries: they go back to pending, counted as one attempt, and are retried on the next start.

No semicolons inside comments or strings below: the migration runner splits on them.
"""

SQL = """
ALTER TABLE news_inbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE news_inbox ADD COLUMN next_attempt_at REAL;
UPDATE news_inbox SET state = 'pending', attempts = 1, processed_at = NULL WHERE state = 'failed';
CREATE INDEX news_inbox_failed ON news_inbox(id) WHERE state = 'failed';
"""
