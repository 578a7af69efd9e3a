"""The bridge between Qt and the engine, one module per feature.

- ``host``: ``EngineHost`` owns the engine's lanes (threads) and delivers results to the UI thread.
- ``operations``: ``Operation`` runs a function of the engine on a lane, with success / failure /
  progress callbacks on the UI thread; ``CancelToken``; ``Latest``.
- ``analyze``, ``live``, ``explain``, ``ideas``, ``calibration``, ``feedback``, ``models``,
  ``desklearn``, ``monitor``, ``watchlist``, ``alerts``, ``assets``: each feature's operations, its push
  feed (Qt signals a panel subscribes to) and its message types.
- ``desk``: builds the host and the features; the main window gets the ``Desk``, each panel its
  own feature(s).
"""
