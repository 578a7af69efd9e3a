"""Local text generation (llama.cpp through llama-cpp-python) for advisory rationales."""
