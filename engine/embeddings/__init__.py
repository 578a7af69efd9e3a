"""Sentence embeddings (all-MiniLM-L6-v2 as int8 ONNX) for retrieval and event prototypes."""
