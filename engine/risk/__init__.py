"""Risk from market data: components and score (``assess``), sizing (``sizing``), the
portfolio view of approved ideas (``portfolio``), thresholds (``config``), and
``symbol.assess_symbol`` tying features, regime and risk together for one symbol.

Submodules are imported directly (``from engine.risk.sizing import size_position``); this
package imports nothing itself, so ``engine.market`` can use ``engine.risk.config`` freely.
"""
