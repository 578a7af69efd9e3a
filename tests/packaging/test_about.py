"""About dialog: one version source, every shipped model's version and licence, the data terms."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtWidgets import QDialog

import engine
from app import __version__ as app_version
from app.about import about_info
from engine.resources import models_dir
from ui.widgets.about import AboutDialog, show_about

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _manifests() -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text(encoding="utf-8")) for p in models_dir().glob("*/manifest.json")}


def test_about_info_reads_every_manifest_and_the_one_version(data_dir):
    info = about_info(data_dir)
    assert info.version == engine.__version__ == app_version
    manifests = _manifests()
    assert {m.model_id for m in info.models} == {m["id"] for m in manifests.values()}
    for model in info.models:
        manifest = next(m for m in manifests.values() if m["id"] == model.model_id)
        assert (model.version, model.licence, model.task) == (manifest["version"], manifest["licence"], manifest["task"])
    assert info.icon_path.endswith("signaldesk.svg") and Path(info.icon_path).is_file()


def test_required_licences_are_stated(data_dir):
    info = about_info(data_dir)
    by_id = {m.model_id: m.licence for m in info.models}
    assert "Apache-2.0" in by_id["minilm-l6-embed"]
    assert "Apache-2.0" in by_id["smollm2-135m-instruct"]
    assert "Gemma Terms of Use" in by_id["gemma3-270m"]
    assert any("Twitter Financial News Sentiment" in name and terms == "MIT" for name, terms in info.data_licences)
    assert info.app_licence == "MIT"


def test_dialog_shows_version_models_and_licences(qtbot, data_dir):
    info = about_info(data_dir)
    dialog = AboutDialog(info)
    qtbot.addWidget(dialog)
    dialog.show()
    assert f"SignalDesk {engine.__version__}" in dialog.title.text()
    table = dialog.models
    assert table.rowCount() == len(info.models) >= 4
    rows = {table.item(r, 0).text(): [table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())}
    assert rows["smollm2-135m-instruct"][2] == "q4_1"
    assert "Gemma Terms of Use" in rows["gemma3-270m"][3]
    text = dialog.licences.text()
    assert "Twitter Financial News Sentiment" in text and "LGPL-3.0" in text
    assert not dialog.running.isVisibleTo(dialog)  # no engine info given: no "in use" line
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert dialog.grab().save(str(ARTIFACTS / "about_dialog.png"))


def test_show_about_is_non_blocking_and_names_the_serving_model(qtbot, data_dir):
    from types import SimpleNamespace

    status = SimpleNamespace(model_id="lexicon-fin", version="1.0.0", degraded=True)
    engine_info = SimpleNamespace(data_dir=str(data_dir), sentiment=status)
    dialog = show_about(None, engine_info)  # returns at once: open(), not exec()
    qtbot.addWidget(dialog)
    assert dialog.isVisible() and dialog.isModal()
    assert "lexicon-fin 1.0.0 (fallback)" in dialog.running.text()
    assert str(data_dir) in dialog.running.text()
    dialog.reject()
    assert dialog.result() == QDialog.DialogCode.Rejected
