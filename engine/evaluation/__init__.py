"""Evaluation commands that drive the whole engine (so they sit above engine.reasoning and
engine.engine, never inside them): ``python -m engine.evaluation.faithfulness``."""
