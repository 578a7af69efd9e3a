"""Sentiment backends: a common protocol, the lexicon fallback and model-backed scorers."""
