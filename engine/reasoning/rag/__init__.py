"""Retrieval for grounded rationales: a FAISS index over stored signals and analyst notes."""

from engine.reasoning.rag.index import RagIndex, Retrieved, VectorIndex

__all__ = ["RagIndex", "Retrieved", "VectorIndex"]
