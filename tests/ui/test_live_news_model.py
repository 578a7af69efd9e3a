"""The Live table's model on its own: streamed rows land where the sorted query would put them,
the window stays bounded, paging asks for the right keyset cursor, colours follow the palette."""

from __future__ import annotations

import random

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from engine.news.query import NewsFilter, NewsRow, order_key
from ui.models.news_table import COL_CONFIDENCE, COL_LABEL, COL_TEXT, MAX_ROWS, ROW_ROLE, NewsTableModel

LABELS = ("bullish", "bearish", "neutral")


def make_rows(ids, seed: int = 3) -> list[NewsRow]:
    rng = random.Random(seed)
    return [NewsRow(i, 1_700_000_000.0 + i, 1_700_000_000.0 + i, rng.choice(("wire", "Social", "alpha")), "news",
                    f"{rng.choice(('Acme', 'zeph', 'Volt'))} headline {i}", (rng.choice(("ACME", "ZEPH")),),
                    rng.choice(LABELS), round(rng.random(), 3), 0.1, "lexicon-fin", "market", "stock_move",
                    "low", "low")
            for i in ids]


def held(model: NewsTableModel) -> list[NewsRow]:
    return [model.index(r, 0).data(ROW_ROLE) for r in range(model.rowCount())]


def test_streamed_rows_go_where_the_sorted_query_puts_them_and_past_the_window_wait(qtbot):
    pages = []
    model = NewsTableModel(pages.append)
    f = NewsFilter(sort="confidence", limit=20)
    everything = sorted(make_rows(range(1, 121)), key=lambda r: order_key(r, "confidence"), reverse=True)
    first = [r for r in everything if r.signal_id <= 80][:20]  # the first page of the 80 stored so far
    model.reset(f)
    model.set_first_page(first)
    assert held(model) == first and model.canFetchMore()

    streamed = [r for r in everything if r.signal_id > 80]
    model.add_streamed(sorted(streamed, key=lambda r: r.signal_id))  # arrival order, oldest first
    rows = held(model)
    boundary = order_key(first[-1], "confidence")
    inside = [r for r in streamed if order_key(r, "confidence") > boundary]
    assert 0 < len(inside) < len(streamed)
    assert rows == sorted(first + inside, key=lambda r: order_key(r, "confidence"), reverse=True)
    assert model.index(0, COL_CONFIDENCE).data() == f"{rows[0].confidence:.0%}"
    assert model.index(0, COL_TEXT).data() == rows[0].text

    model.fetchMore()  # the next page starts after the last row held, whatever streamed in
    assert len(pages) == 1 and pages[0].before_id == rows[-1].signal_id
    assert pages[0].after == (rows[-1].confidence,) and pages[0].sort == "confidence"


def test_newest_first_reports_rows_above_the_reader_and_trims_to_the_window(qtbot):
    model = NewsTableModel()
    model.reset(NewsFilter())
    model.set_first_page(list(reversed(make_rows(range(1, 11)))))  # exhausted: fewer than a page
    assert not model.canFetchMore()
    above = model.add_streamed(make_rows(range(11, 16)), anchor=3)
    assert above == 5 and [r.signal_id for r in held(model)][:6] == [15, 14, 13, 12, 11, 10]
    assert model.add_streamed(make_rows(range(11, 16))) == 0  # a row is never shown twice

    model.add_streamed(make_rows(range(16, 16 + MAX_ROWS)))
    assert model.rowCount() == MAX_ROWS + 15
    assert model.trim() == 15 and model.rowCount() == MAX_ROWS
    assert held(model)[0].signal_id == 15 + MAX_ROWS and model.canFetchMore()  # the rest pages back in
    assert model.trim(keep=MAX_ROWS + 50) == 0  # a reader further down keeps what is on screen


def test_filters_apply_to_streamed_rows_too(qtbot):
    model = NewsTableModel()
    model.reset(NewsFilter(label="bearish", search="ZEPH"))
    model.set_first_page([])
    rows = make_rows(range(1, 60))
    model.add_streamed(rows)
    expected = [r.signal_id for r in reversed(rows) if r.label == "bearish" and "zeph" in r.text.lower()]
    assert expected and [r.signal_id for r in held(model)] == expected


def test_streamed_rows_are_searched_with_the_query_s_unicode_folding(qtbot):
    # The paged query folds every script (not only ASCII); streamed rows must obey the same rule.
    texts = ("Élan Motors beats estimates", "ÉLAN MOTORS cuts jobs", "e\u0301lan motors (decomposed)",
             "Elan Motors, no accent", "Straße Holdings raises dividend", "STRASSE HOLDINGS probe")
    rows = [NewsRow(i + 1, 1_700_000_000.0 + i, 1_700_000_000.0 + i, "wire", "news", text, (), "neutral", 0.5, 0.0,
                    "lexicon-fin", "market", "stock_move", "low", "low") for i, text in enumerate(texts)]
    for search, wanted in (("élan", {1, 2, 3}), ("ÉLAN", {1, 2, 3}), ("strasse", {5, 6}), ("STRAßE", {5, 6}),
                           ("elan", {4})):
        model = NewsTableModel()
        model.reset(NewsFilter(search=search))
        model.set_first_page([])
        model.add_streamed(rows)
        assert {r.signal_id for r in held(model)} == wanted, search


def test_label_colours_follow_a_switch_to_a_dark_palette(qtbot):
    app = QApplication.instance()
    original = app.palette()
    model = NewsTableModel()
    model.reset(NewsFilter())
    model.set_first_page(make_rows(range(1, 4)))
    light_bg = model.index(0, COL_LABEL).data(Qt.ItemDataRole.BackgroundRole)
    try:
        dark = QPalette(original)
        dark.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
        dark.setColor(QPalette.ColorRole.Text, QColor("#e5e5e5"))
        app.setPalette(dark)
        model.restyle()
        dark_bg = model.index(0, COL_LABEL).data(Qt.ItemDataRole.BackgroundRole)
        assert light_bg.color().lightness() > 128 > dark_bg.color().lightness()
    finally:
        app.setPalette(original)
