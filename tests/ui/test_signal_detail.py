"""The News detail pane against a real engine thread: the signal, the streamed rationale, the
five-step chain, cited sources that open, Explain per row, auto-explain, and the template shown
when the LLM is unavailable.

LLM tests use the shipped SmolLM2 with small token limits (config.toml [reasoning]); the
unavailable-LLM tests use a model memory budget too small for any generator, which is how a
small machine really ends up without one (the model manager refuses it, the template answers).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.bridge.desk import Desk
from app.bridge.explain import ChunkStream
from engine.config import Config
from tests.ui.conftest import ENGINE_TIMEOUT_MS, save_screenshot, spy, start_window
from ui.models.signal_table import COL_TEXT, SIGNAL_ROLE
from ui.panels.signal_detail import KEY_AUTO_EXPLAIN, SignalDetailPane

# A chain answer is ~220 tokens with SmolLM2; on 2 shared cores that can take minutes under load.
LLM_TIMEOUT_MS = 400_000
CONTEXT = ["Apple shares rise as iPhone demand stays strong", "Apple raises dividend after strong quarter",
           "Oil prices slump on OPEC output hike", "Exxon profit drops as oil prices fall"]
TARGET = "$AAPL beats earnings estimates as iPhone sales hit a record"
HIGH_IMPACT = "$AAPL surges after record earnings beat, raises guidance"
NOT_HIGH_IMPACT = "Federal Reserve holds interest rates steady, as expected"
STEP_TITLES = ["Key facts", "Sentiment", "Market context", "Impact", "Conclusion"]
NO_LLM_BUDGET_MB = 150  # the embedder fits, no generator does (SmolLM2 needs ~200 MB)


@pytest.fixture
def ui_data_dir(tmp_path: Path) -> Path:
    """Overrides the conftest folder: bounded generations, no retry, a generous per-call timeout."""
    path = tmp_path / "data"
    path.mkdir()
    (path / "config.toml").write_text("[reasoning]\nmax_tokens = 200\nchain_max_tokens = 320\nretries = 0\n"
                                      "timeout_s = 300\n", encoding="utf-8")
    return path


@pytest.fixture
def no_llm_desk(qtbot, ui_data_dir: Path):
    desk = Desk(Config(model_memory_limit_mb=NO_LLM_BUDGET_MB), ui_data_dir)
    yield desk
    assert desk.shutdown(), "engine threads did not stop"


@pytest.fixture
def no_llm_window(qtbot, no_llm_desk, monitor, log_bridge, settings):
    return start_window(qtbot, no_llm_desk, monitor, log_bridge, settings)


@pytest.fixture
def breaker_window(qtbot, tmp_path: Path, monitor, log_bridge, settings):
    """The real LLM with no time at all per call and a breaker that opens after one failure."""
    data = tmp_path / "breaker"
    data.mkdir()
    (data / "config.toml").write_text("[reasoning]\ntimeout_s = 0\nbreaker_failures = 1\nretries = 0\n",
                                      encoding="utf-8")
    desk = Desk(Config(), data)
    yield start_window(qtbot, desk, monitor, log_bridge, settings)
    assert desk.shutdown(), "engine threads did not stop"


def _paste(qtbot, news, lines: list[str]) -> None:
    before = news.proxy.rowCount()
    news.paste_box.setPlainText("\n".join(lines))
    news.submit()
    qtbot.waitUntil(lambda: news.proxy.rowCount() == before + len(lines), timeout=ENGINE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: news.analyze_button.isEnabled(), timeout=ENGINE_TIMEOUT_MS)


def _select(news, text: str):
    for r in range(news.proxy.rowCount()):
        if news.proxy.index(r, COL_TEXT).data() == text:
            news.table.setCurrentIndex(news.proxy.index(r, 0))
            news.table.selectRow(r)
            return news.proxy.index(r, 0).data(SIGNAL_ROLE)
    raise AssertionError(f"no row {text!r}")


def _click_source(qtbot, pane, row: int) -> None:
    sources = pane.explanation.sources_list
    item = sources.item(row)
    sources.scrollToItem(item)
    qtbot.mouseClick(sources.viewport(), Qt.MouseButton.LeftButton, pos=sources.visualItemRect(item).center())


def test_explain_streams_the_rationale_and_chain_then_lists_sources_that_open(window, qtbot):
    window.resize(1500, 950)
    news, pane, client = window.news, window.news.detail, window._desk.explain
    shown = pane.explanation  # the rationale, fields, chain and sources on show
    _paste(qtbot, news, CONTEXT + [TARGET])
    sig = _select(news, TARGET)
    assert pane.subject.signal_id == sig.id and pane.headline.text() == TARGET
    # The event class comes back from the engine with the (absent) stored explanation.
    qtbot.waitUntil(lambda: "event: earnings" in pane.meta.text(), timeout=ENGINE_TIMEOUT_MS)
    assert "AAPL" in pane.meta.text() and "raw" in pane.meta.text() and sig.label in pane.meta.text()
    assert pane.shown_view is None and "Not explained yet" in shown.rationale.placeholderText()

    chunks, ready, failed = [], [], []
    client.chunk.connect(chunks.append)
    client.finished.connect(ready.append)
    client.refused.connect(lambda rid, msg: failed.append(msg))
    pane.chain_check.setChecked(True)
    qtbot.mouseClick(pane.explain_button, Qt.MouseButton.LeftButton)
    assert not pane.explain_button.isEnabled()  # one explanation per signal at a time

    # Streaming: readable text of the chain arrives before the answer is complete.
    qtbot.waitUntil(lambda: bool(ready or failed or any("chain." in f for c in chunks for f, _ in c.pieces)),
                    timeout=LLM_TIMEOUT_MS)
    assert not failed, failed
    if not ready:
        # A few steps in, for a screenshot that shows the chain filling up.
        qtbot.waitUntil(lambda: bool(ready or "3. Market context ✎" in "".join(shown.chain_texts())),
                        timeout=LLM_TIMEOUT_MS)
        if not ready:
            assert pane.busy.isVisible() and pane.cancel_button.isVisible()
            assert "Generating" in pane.busy_label.text() or "Preparing" in pane.busy_label.text()
            save_screenshot(window, "news_detail_streaming")
    qtbot.waitUntil(lambda: bool(ready or failed), timeout=LLM_TIMEOUT_MS)
    assert not failed, failed
    view = ready[0]
    assert view.signal_id == sig.id and view.mode == "chain" and view.model_id == "smollm2-135m-instruct"
    ours = [c for c in chunks if c.request_id == view.request_id]
    assert len(ours) >= 2 and sum(len(c.text) for c in ours) > 20  # tokens were streamed, in pieces
    streamed: dict[str, str] = {}
    for c in ours:
        if c.attempt == ours[-1].attempt:
            for name, text in c.pieces:
                streamed[name] = streamed.get(name, "") + text
    if not view.fallback_used:  # what streamed is what was validated
        assert streamed["chain.key_facts"].strip() == view.chain[0].text
        assert streamed.get("rationale", "").strip() == view.rationale

    # The final answer: J6 fields, the five steps, sources.
    assert pane.shown_view == view and not pane.busy.isVisible()
    assert shown.rationale.toPlainText() == view.rationale
    assert view.direction in shown.field_labels["direction"].text()
    assert shown.field_labels["status"].text() == view.status
    texts = shown.chain_texts()
    assert [t.split(" — ")[0].split(". ", 1)[1] for t in texts] == STEP_TITLES
    for i, step in enumerate(view.chain):
        assert step.text and texts[i].endswith(step.text) and shown.chain_list.item(i).toolTip() == step.text
    assert view.retrieved, "related Apple items should have been retrieved"
    assert shown.sources_list.count() == len(view.source_ids) >= 1
    assert "smollm2" in shown.footer.text() and "tokens" in shown.footer.text()
    save_screenshot(window, "news_detail_explained")

    # Click a source: its stored text opens in the source dialog.
    opened = shown.sources_list.item(0).data(Qt.ItemDataRole.UserRole)
    _click_source(qtbot, pane, 0)
    qtbot.waitUntil(pane.source_dialog.isVisible, timeout=ENGINE_TIMEOUT_MS)
    assert opened in pane.source_dialog.title.text()
    expected = next(r for r in view.retrieved if r.id == opened)
    assert pane.source_dialog.text.toPlainText().startswith(expected.snippet)
    save_screenshot(pane.source_dialog, "news_detail_source")
    pane.source_dialog.close()


def test_cancel_mid_stream_keeps_nothing_with_the_signal(window, qtbot):
    news, pane, client = window.news, window.news.detail, window._desk.explain
    _paste(qtbot, news, CONTEXT[:2] + [TARGET])
    sig = _select(news, TARGET)
    chunks, failed, ready = [], [], []
    client.chunk.connect(chunks.append)
    client.refused.connect(lambda rid, msg: failed.append((rid, msg)))
    client.finished.connect(ready.append)
    request_id = pane.explain()
    assert request_id is not None
    qtbot.waitUntil(lambda: bool(ready or any(c.tokens for c in chunks)), timeout=LLM_TIMEOUT_MS)
    if ready:
        pytest.skip("the answer was complete before Cancel could be pressed")
    qtbot.mouseClick(pane.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(failed or ready), timeout=LLM_TIMEOUT_MS)
    assert failed and failed[0][0] == request_id and failed[0][1].startswith("Cancelled")
    assert pane.banner.isVisible() and pane.banner.property("kind") == "info"
    assert pane.explain_button.isEnabled() and not pane.cancel_button.isVisible()
    # Nothing was stored with the signal: a fresh pane finds no explanation for it.
    other = SignalDetailPane(client, window._settings, auto_explain_toggle=False)
    qtbot.addWidget(other)
    loaded = spy(other, "_on_loaded")
    other.show_signal(sig)
    qtbot.waitUntil(lambda: any(x.signal_id == sig.id for x in loaded), timeout=ENGINE_TIMEOUT_MS)
    assert other.shown_view is None and "Not explained yet" in other.explanation.rationale.placeholderText()


def test_unavailable_llm_shows_a_labelled_template_per_row_and_it_is_stored(no_llm_window, qtbot):
    window = no_llm_window
    window.resize(1500, 950)
    news, pane, client = window.news, window.news.detail, window._desk.explain
    shown = pane.explanation  # the rationale, fields, chain and sources on show
    _paste(qtbot, news, CONTEXT + [TARGET])
    started, ready, failed = [], [], []
    client.started.connect(started.append)
    client.finished.connect(ready.append)
    client.refused.connect(lambda rid, msg: failed.append(msg))

    # Ctrl+E on the table explains the current row (here with the chain).
    sig = _select(news, TARGET)
    pane.chain_check.setChecked(True)
    news.table.setFocus()
    qtbot.keyClick(news.table, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(ready or failed), timeout=ENGINE_TIMEOUT_MS)
    assert not failed, failed
    view = ready[-1]
    assert started[-1].signal_id == sig.id and not started[-1].automatic
    assert view.signal_id == sig.id and view.fallback_used and view.status == "template"
    assert view.engine_status == "fallback_no_model" and view.model_id == ""
    assert pane.banner.isVisible() and pane.banner.property("kind") == "warning"
    assert "no language model is available" in pane.banner.text() and "unavailable or degraded" in pane.banner.text()
    assert shown.rationale.toPlainText().startswith("Evidence-based explanation")
    assert shown.field_labels["status"].text() == "template"
    assert len(view.chain) == 5 and shown.chain_list.count() == 5
    assert "(evidence-based)" in shown.chain_texts()[4]
    assert shown.sources_list.count() >= 1 and set(view.cited) <= set(view.source_ids)
    assert "template" in shown.footer.text()
    save_screenshot(window, "news_detail_template")

    # Enter on a source opens it too.
    shown.sources_list.setCurrentRow(0)
    shown.sources_list.setFocus()
    qtbot.keyClick(shown.sources_list, Qt.Key.Key_Return)
    qtbot.waitUntil(pane.source_dialog.isVisible, timeout=ENGINE_TIMEOUT_MS)
    assert pane.source_dialog.text.toPlainText() in CONTEXT
    pane.source_dialog.close()

    # The context-menu action explains another row.
    other = _select(news, CONTEXT[2])
    assert pane.subject.signal_id == other.id
    assert news.explain_action in news.table.actions() and news.explain_action.isEnabled()
    news.explain_action.trigger()
    qtbot.waitUntil(lambda: any(v.signal_id == other.id for v in ready), timeout=ENGINE_TIMEOUT_MS)
    assert started[-1].signal_id == other.id

    # A note is stored, and the next explanation retrieves it as a citable source.
    _select(news, TARGET)
    pane.note_edit.setText("AAPL iPhone cycle strong; earnings beats keep coming")
    qtbot.mouseClick(pane.note_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Note #1" in pane.banner.text(), timeout=ENGINE_TIMEOUT_MS)
    assert pane.note_edit.text() == ""
    pane.explain()
    qtbot.waitUntil(lambda: len([v for v in ready if v.signal_id == sig.id]) == 2, timeout=ENGINE_TIMEOUT_MS)
    assert "note:1" in ready[-1].source_ids
    _click_source(qtbot, pane, list(ready[-1].source_ids).index("note:1"))
    qtbot.waitUntil(lambda: "note:1" in pane.source_dialog.title.text(), timeout=ENGINE_TIMEOUT_MS)
    assert "analyst note" in pane.source_dialog.title.text()
    pane.source_dialog.close()

    # Stored: another pane (as the Live tab would add) shows the newest explanation at once.
    reused = SignalDetailPane(client, window._settings, auto_explain_toggle=False)
    qtbot.addWidget(reused)
    reused.show_signal(sig)
    qtbot.waitUntil(lambda: reused.shown_view is not None, timeout=ENGINE_TIMEOUT_MS)
    assert reused.shown_view.stored and reused.shown_view.audit_id == ready[-1].audit_id
    assert reused.explanation.rationale.toPlainText() == ready[-1].rationale and reused.shown_view.status == "template"

    # A signal that is not stored any more is refused with a clear message, nothing crashes.
    pane.show_signal(dataclasses.replace(sig, id=10 ** 9))
    pane.explain()
    qtbot.waitUntil(lambda: any("no stored signal" in m for m in failed), timeout=ENGINE_TIMEOUT_MS)
    assert pane.banner.property("kind") == "error" and "no stored signal" in pane.banner.text()


def test_timeout_then_open_circuit_breaker_are_said_plainly(breaker_window, qtbot):
    window = breaker_window
    news, pane, client = window.news, window.news.detail, window._desk.explain
    _paste(qtbot, news, CONTEXT[:2] + [TARGET])
    ready = []
    client.finished.connect(ready.append)
    _select(news, TARGET)
    pane.explain()
    qtbot.waitUntil(lambda: len(ready) == 1, timeout=LLM_TIMEOUT_MS)
    assert ready[0].engine_status == "fallback_timeout" and ready[0].status == "template"
    assert "did not finish in time" in pane.banner.text() and "unavailable or degraded" in pane.banner.text()
    pane.explain()  # the one failure opened the circuit: the template answers at once
    qtbot.waitUntil(lambda: len(ready) == 2, timeout=ENGINE_TIMEOUT_MS)
    assert ready[1].engine_status == "fallback_breaker_open" and ready[1].completion_tokens == 0
    assert pane.banner.property("kind") == "warning"
    assert "circuit breaker is open" in pane.banner.text() and "unavailable or degraded" in pane.banner.text()
    save_screenshot(pane, "news_detail_breaker_open")


def test_auto_explain_is_persisted_and_explains_only_high_impact_items(no_llm_window, qtbot, settings):
    window = no_llm_window
    news, pane, client = window.news, window.news.detail, window._desk.explain
    assert not pane.auto_check.isChecked() and not settings.value(KEY_AUTO_EXPLAIN, False, type=bool)
    started, ready = [], []
    client.started.connect(started.append)
    client.finished.connect(ready.append)
    done = spy(news, "_on_analysis_done")
    after_scoring = window._desk.host.engine.scored  # auto-explain decides on its thread, after the store

    pane.auto_check.click()
    assert settings.value(KEY_AUTO_EXPLAIN, False, type=bool) is True
    _paste(qtbot, news, [HIGH_IMPACT, NOT_HIGH_IMPACT])
    qtbot.waitUntil(lambda: len(done) == 1, timeout=ENGINE_TIMEOUT_MS)
    rows = {news.proxy.index(r, 0).data(SIGNAL_ROLE).text: news.proxy.index(r, 0).data(SIGNAL_ROLE)
            for r in range(news.proxy.rowCount())}
    high, low = rows[HIGH_IMPACT], rows[NOT_HIGH_IMPACT]
    # Once the after-scoring listeners are through this batch, what started is all there is.
    assert after_scoring.wait_idle(30)
    qtbot.waitUntil(lambda: any(s.automatic for s in started), timeout=ENGINE_TIMEOUT_MS)
    auto = [s for s in started if s.automatic]
    assert [s.signal_id for s in auto] == [high.id] and auto[0].request_id < 0
    qtbot.waitUntil(lambda: any(v.signal_id == high.id for v in ready), timeout=ENGINE_TIMEOUT_MS)
    _select(news, HIGH_IMPACT)
    qtbot.waitUntil(lambda: pane.shown_view is not None and "event: earnings" in pane.meta.text(),
                    timeout=ENGINE_TIMEOUT_MS)
    assert pane.shown_view.automatic and "(auto)" in pane.explanation.footer.text()
    assert "No chain" in pane.explanation.chain_texts()[0]
    save_screenshot(window, "news_detail_auto")
    _select(news, NOT_HIGH_IMPACT)
    assert pane.subject.signal_id == low.id and pane.shown_view is None

    # Persisted: a pane built later starts with the box ticked.
    later = SignalDetailPane(client, settings)
    qtbot.addWidget(later)
    assert later.auto_check.isChecked()
    later.deleteLater()

    # Off: a new high-impact item is not explained.
    pane.auto_check.click()
    assert settings.value(KEY_AUTO_EXPLAIN, True, type=bool) is False
    _paste(qtbot, news, ["$NVDA soars 12% as record data-center sales crush estimates"])
    qtbot.waitUntil(lambda: len(done) == 2, timeout=ENGINE_TIMEOUT_MS)
    assert after_scoring.wait_idle(30)
    qtbot.wait(100)  # anything the listeners started has reached this thread
    assert [s.signal_id for s in started if s.automatic] == [high.id]


def test_chunk_stream_coalesces_tokens_to_at_most_twenty_updates_a_second():
    now = [0.0]
    sent = []
    stream = ChunkStream(7, 3, sent.append, interval_s=0.05, clock=lambda: now[0])
    words = [f"w{i} " for i in range(200)]
    for word in words:  # 200 tokens in 0.2 s: far faster than a screen should redraw
        now[0] += 0.001
        stream.token(word)
        stream.text("rationale", word)
    stream.flush()
    assert 2 <= len(sent) <= 0.2 / 0.05 + 2
    assert "".join(c.text for c in sent) == "".join(words)  # nothing lost, nothing reordered
    assert sent[-1].tokens == 200 and all(c.request_id == 7 and c.signal_id == 3 for c in sent)
    stream.retry(2, "schema: rationale too short")
    assert sent[-1].attempt == 2 and sent[-1].tokens == 0 and "not usable" in sent[-1].note
    now[0] += 1
    stream.text("chain.key_facts", "Apple")
    assert sent[-1].pieces == (("chain.key_facts", "Apple"),)


def test_the_live_tab_has_the_same_detail_pane_and_ctrl_e_explains_its_current_row(no_llm_window, no_llm_desk, qtbot):
    from tests.ui.test_live_news import _live, _settled

    window, client = no_llm_window, no_llm_desk.explain
    live = _live(window)
    qtbot.waitUntil(lambda: _settled(live), timeout=ENGINE_TIMEOUT_MS)
    live.sources.replay_rate.setValue(5000)
    qtbot.mouseClick(live.sources.replay_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.model.rowCount() >= 20, timeout=ENGINE_TIMEOUT_MS)

    live.table.setFocus()
    live.table.setCurrentIndex(live.model.index(3, 0))
    row = live.model.row_at(3)
    assert live.detail.subject.signal_id == row.signal_id  # selecting a live row shows it in the pane

    ready: list = []
    failed: list = []
    client.finished.connect(ready.append)
    client.refused.connect(lambda rid, message: failed.append(message))
    # Ctrl+E is one panel-wide action: with the Live tab on show it must explain the live row.
    started: list = []
    client.started.connect(started.append)
    window.news.explain_action.trigger()
    qtbot.waitUntil(lambda: bool(started), timeout=10_000)
    qtbot.waitUntil(lambda: bool(ready) or bool(failed), timeout=ENGINE_TIMEOUT_MS)
    assert not failed, failed
    view = ready[0]
    assert view.signal_id == row.signal_id and view.status == "template"
    qtbot.waitUntil(lambda: live.detail.explanation.field_labels["status"].text() == "template", timeout=10_000)
    assert live.detail.isVisible() and not window.news.detail.isVisible()
    save_screenshot(window, "live_news_detail_pane")
