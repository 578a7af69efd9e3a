"""Bring your own model in the Models panel (#19.4, #19.5), on a real Desk:

- "Add endpoint…" against a real llama.cpp server (llama-cpp-python's server extra, the shipped
  SmolLM2 on 127.0.0.1, with an API key): a key typed where its variable's name belongs is refused
  without being echoed, a wrong model fails the health check, the right one passes, is added and
  serves explanations after a switch, and the key is in no file of the data folder and no log line;
- a GGUF file is measured from its header before it is added: a 400 GB (sparse) file is a clear
  warning with Cancel, the shipped SmolLM2 over a small model budget is a warning with "Add anyway",
  and the model's details keep saying whether it fits.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import gguf
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.bridge.desk import Desk
from engine.config import Config
from tests.llm_server import API_KEY, MODEL_ALIAS, running_server, smollm2_path
from tests.ui.conftest import ENGINE_TIMEOUT_MS, save_screenshot
from ui.panels.models import ModelsPanel

KEY_ENV = "SIGNALDESK_UI_ENDPOINT_KEY"
SMALL_BUDGET_MB = 150  # the embedder fits; SmolLM2's ~262 MB estimate does not


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from running_server(tmp_path_factory)


@pytest.fixture
def panel(qtbot, ui_data_dir: Path):
    desk = Desk(Config(model_memory_limit_mb=SMALL_BUDGET_MB), ui_data_dir)
    with qtbot.waitSignal(desk.ready, timeout=ENGINE_TIMEOUT_MS):
        desk.start()
    models_panel = ModelsPanel(desk.models)
    models_panel.set_info(desk.info)  # as the main window does once the engine is up
    qtbot.addWidget(models_panel)
    models_panel.resize(1300, 900)
    models_panel.show()
    qtbot.waitUntil(lambda: models_panel.snapshot is not None, timeout=ENGINE_TIMEOUT_MS)
    yield models_panel
    assert desk.shutdown(), "engine threads did not stop"


def _ids(panel) -> set[str]:
    return {m.id for m in panel.model.models()}


def test_add_an_endpoint_check_its_health_and_use_it(qtbot, panel, server, ui_data_dir, monkeypatch, caplog):
    monkeypatch.setenv(KEY_ENV, API_KEY)
    caplog.set_level(logging.DEBUG)
    qtbot.mouseClick(panel.adding.add_endpoint_button, Qt.MouseButton.LeftButton)
    dialog = panel.endpoint_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    assert not dialog.add_button.isEnabled()  # nothing typed yet

    # The key itself typed where its variable's NAME belongs: refused, cleared, never repeated.
    dialog.url_edit.setText(server.url)
    dialog.model_edit.setText(MODEL_ALIAS)
    dialog.key_env_edit.setText(API_KEY)
    assert dialog.key_state.text() == "not a variable name"
    qtbot.mouseClick(dialog.check_button, Qt.MouseButton.LeftButton)
    assert dialog.result.property("kind") == "error" and "never the key itself" in dialog.result.text()
    assert dialog.key_env_edit.text() == "" and API_KEY not in dialog.result.text()

    # A model the server does not serve fails the health check, with the reason.
    dialog.key_env_edit.setText(KEY_ENV)
    assert dialog.key_state.text() == "set here ✓"
    dialog.model_edit.setText("gpt-9")
    dialog.check()
    qtbot.waitUntil(lambda: "Health check failed" in dialog.result.text(), timeout=ENGINE_TIMEOUT_MS)
    assert "does not serve 'gpt-9'" in dialog.result.text()

    dialog.model_edit.setText(MODEL_ALIAS)
    dialog.check()
    qtbot.waitUntil(lambda: dialog.result.text().startswith("✓ Healthy"), timeout=ENGINE_TIMEOUT_MS)
    assert f"serves {MODEL_ALIAS}" in dialog.result.text() and "ms" in dialog.result.text()
    save_screenshot(dialog, "models_endpoint_dialog")

    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=ENGINE_TIMEOUT_MS)
    assert "the health check passed" in panel.message.text()
    qtbot.waitUntil(lambda: any(m.source.startswith("endpoint") for m in panel.model.models()),
                    timeout=ENGINE_TIMEOUT_MS)
    endpoint_id = next(m.id for m in panel.model.models() if m.source.startswith("endpoint"))
    qtbot.waitUntil(lambda: panel.selected_info() is not None and panel.selected_info().id == endpoint_id,
                    timeout=ENGINE_TIMEOUT_MS)
    info = panel.selected_info()
    assert info.task == "generation" and info.source == f"endpoint 127.0.0.1:{server.port}, model {MODEL_ALIAS}"
    assert f"endpoint 127.0.0.1:{server.port}" in panel.details.text()

    # Selectable for explanations like a local model: Enter switches generation to it.
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Generation now uses" in panel.message.text(), timeout=ENGINE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: any(m.id == endpoint_id and m.active for m in panel.model.models()),
                    timeout=ENGINE_TIMEOUT_MS)
    qtbot.wait(50)  # pending layout requests first
    save_screenshot(panel, "models_endpoint_added")

    # Only the variable's name was stored: the key is in no file of the data folder and in no log line.
    key = API_KEY.encode()
    for file in ui_data_dir.rglob("*"):
        if file.is_file():
            assert key not in file.read_bytes(), file
    assert not [r for r in caplog.records if API_KEY in r.getMessage()]


def _huge_gguf(path: Path) -> Path:
    """A valid GGUF header declaring 400 GB of weights, in a sparse file (nothing is written to disk)."""
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(80)
    writer.add_context_length(8192)
    writer.add_embedding_length(8192)
    writer.add_head_count(64)
    writer.add_head_count_kv(8)
    writer.add_token_list([f"t{i}" for i in range(1000)])
    nbytes = 3000 * 8192 * 8192 * 2
    writer.add_tensor_info("blk.weight", (3000 * 8192, 8192), np.float16, nbytes)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    os.truncate(path, -(-path.stat().st_size // 32) * 32 + nbytes)
    return path


def _button(box: QMessageBox, text: str):
    return next(b for b in box.buttons() if b.text().replace("&", "") == text)


def test_a_gguf_that_does_not_fit_is_a_warning_before_anything_is_added(qtbot, panel, tmp_path, monkeypatch):
    huge = _huge_gguf(tmp_path / "giant-400b.Q8_0.gguf")
    picked = [str(huge)]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (picked[0], ""))
    before = _ids(panel)

    qtbot.mouseClick(panel.adding.add_gguf_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.fit_box is not None and panel.fit_box.isVisible(), timeout=ENGINE_TIMEOUT_MS)
    box = panel.fit_box
    assert not box.isModal() or box.windowModality() != Qt.WindowModality.ApplicationModal
    assert "giant-400b.Q8_0.gguf needs about 384,790 MB" in box.text() and "RAM available now" in box.text()
    assert "KV cache 640 MB at 2,048 tokens" in box.informativeText()
    assert panel.message.property("kind") == "warning" and "may not fit" in panel.message.text()
    save_screenshot(box, "models_gguf_fit_warning")
    _button(box, "Cancel").click()
    qtbot.waitUntil(lambda: panel.fit_box is None, timeout=ENGINE_TIMEOUT_MS)
    assert panel.message.text().startswith("Not added: giant-400b.Q8_0.gguf would not fit")
    assert _ids(panel) == before and panel.adding.add_gguf_button.isEnabled()

    # The shipped SmolLM2 fits the RAM but not this desk's 150 MB model budget: warned, added anyway.
    picked[0] = str(smollm2_path())
    panel.adding.id_edit.setText("my-smollm2")
    qtbot.mouseClick(panel.adding.add_gguf_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.fit_box is not None and panel.fit_box.isVisible(), timeout=ENGINE_TIMEOUT_MS)
    assert "model memory budget (150 MB)" in panel.fit_box.text() and "RAM available" not in panel.fit_box.text()
    _button(panel.fit_box, "Add anyway").click()
    qtbot.waitUntil(lambda: "my-smollm2" in _ids(panel), timeout=ENGINE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: panel.selected_info() is not None and panel.selected_info().id == "my-smollm2",
                    timeout=ENGINE_TIMEOUT_MS)
    info = panel.selected_info()
    assert info.memory_estimate["fits"] is True and info.source == f"local file {smollm2_path().name}"
    assert "memory: fits: needs ~" in panel.details.text() and "local file" in panel.details.text()
    qtbot.wait(50)
    save_screenshot(panel, "models_gguf_added_details")
