"""Training pipeline for the shipped sentiment model (needs the ``train`` extra: torch, transformers).

Nothing here is imported at run time: the app only loads the exported ONNX artifact.
"""
