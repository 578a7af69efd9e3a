"""Model management: a registry of models per task, compatibility with this machine,
selection, a memory-bounded cache, benchmarks and switching with fallback.

The plain entry point is :class:`engine.models.manager.ModelManager`, reached as
``engine.models``: ``available(task)``, ``active(task)``, ``switch(task, id)``, ``benchmark(id)``.
"""

TASKS = ("sentiment", "embedding", "generation")
