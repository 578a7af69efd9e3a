# What each explanation was checked for and what produced it (issue 19): the faithfulness checks
# of the answer callers got, and the model's source (local file, or endpoint host and model name).
# Rows written before this migration have no checks recorded: an empty list, not "passed".
SQL = """
ALTER TABLE reasoning_audit ADD COLUMN checks TEXT NOT NULL DEFAULT '[]';
ALTER TABLE reasoning_audit ADD COLUMN model_source TEXT NOT NULL DEFAULT '';
"""
