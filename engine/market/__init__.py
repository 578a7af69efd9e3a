"""Market data: OHLCV import and storage (``prices``), features (``features``), the
regime classifier (``regime``) and the seeded demo-data generator (``demo``)."""
