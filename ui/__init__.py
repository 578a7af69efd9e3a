"""SignalDesk Qt widgets. Each panel talks to the engine only through its own feature(s) of ``app.bridge`` (operations and push feeds)."""
