"""SignalDesk Qt widgets. Widgets talk to the engine only through ``app.worker.EngineClient``."""
