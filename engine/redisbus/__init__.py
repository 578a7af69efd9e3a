"""Redis scale-out (issue 9): the desk publishes its signals; workers score a shared news stream.

::

    signaldesk ingest FILE --redis URL --XADD--> <prefix>:news (stream, consumer group "scorers")
        --XREADGROUP--> signaldesk worker (N processes, any machines): Engine.analyze_batch + event class
            --one script per entry: XACK + XADD <prefix>:results + J8 keys + XADD <prefix>:signals-->
    desk: ResultsSubscriber --XREAD--> SQLite signals (deduped by news entry id) --> on_signals (the GUI)
    desk: SignalPublisher  --every stored signal, from a cursor--> J8 keys + <prefix>:signals

- ``config``: ``RedisConfig`` from the ``[redis]`` section (``SIGNALDESK_REDIS_<KEY>``, ``--redis URL``).
- ``scripts``: the Lua scripts whose guards make a repeat harmless (why nothing is counted twice).
- ``publisher``: ``SignalPublisher``, the outbox thread the engine starts when a URL is set.
- ``worker``: ``StreamWorker``, the consumer-group loop behind ``signaldesk worker``.
- ``feed``: ``feed_file``, behind ``signaldesk ingest FILE --redis URL``.
- ``subscriber``: ``ResultsSubscriber``, results into the local store and the GUI.
- ``messages``: stream entry and payload formats.
- ``hooks``: starting the publisher (engine) and the results subscriber (desk) when a URL is set.

Delivery guarantee (README "Operators: scaling out with Redis" says it for operators): scoring is
at least once (a dead or slow worker's entries are scored again elsewhere); publishing a result
is once per news entry while Redis keeps its writes, because the XACK and the result are one
atomic script and only the call that acknowledged publishes. Results carry ``news_id`` so
readers can dedupe across a Redis that lost writes (the desk's subscriber does).
"""

from __future__ import annotations

