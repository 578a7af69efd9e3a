"""The Models panel's "Add your own model" box: pick an ONNX / Hugging Face folder, a GGUF file, or an
OpenAI-compatible endpoint.

The box only asks: ``addRequested`` carries the path, the class labels and the id,
``endpointRequested`` opens the endpoint dialog, and the panel decides (one model change at a time;
a GGUF file's memory fit first) and sends it to the models feature.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QFileDialog, QGridLayout, QGroupBox, QLineEdit, QMessageBox, QPushButton, QWidget

from engine.models.budget import RAM_HEADROOM as RAM_SHARE  # the share of available RAM one model may take

if TYPE_CHECKING:
    from app.bridge.models import GgufFit


class AddModelBox(QGroupBox):
    addRequested = Signal(str, str, str)  # path, class labels ("" for a GGUF file), model id ("" = derived)
    endpointRequested = Signal()

    def __init__(self) -> None:
        super().__init__("Add your own model")
        self._last_dir = str(Path.home())
        self.add_folder_button = QPushButton("Add &folder…")
        self.add_folder_button.setObjectName("addFolderButton")
        self.add_folder_button.setToolTip("A sentiment classifier folder: model.onnx + tokenizer.json (ONNX) "
                                          "or config.json + *.safetensors (Hugging Face)")
        self.add_folder_button.clicked.connect(self.add_folder)
        self.add_gguf_button = QPushButton("Add &GGUF file…")
        self.add_gguf_button.setObjectName("addGgufButton")
        self.add_gguf_button.setToolTip("A generation model as a single .gguf file (llama.cpp)")
        self.add_gguf_button.clicked.connect(self.add_gguf)
        self.add_endpoint_button = QPushButton("Add &endpoint…")
        self.add_endpoint_button.setObjectName("addEndpointButton")
        self.add_endpoint_button.setToolTip("A generation model served by an OpenAI-compatible server (llama.cpp "
                                            "server, Ollama, LM Studio, vLLM), for explanations")
        self.add_endpoint_button.clicked.connect(self.endpointRequested)
        self.labels_edit = QLineEdit()
        self.labels_edit.setObjectName("addLabels")
        self.labels_edit.setPlaceholderText("class labels, e.g. negative,neutral,positive")
        self.labels_edit.setToolTip("For classifier folders: class names in the model's output order. "
                                    "Empty = read id2label from config.json")
        self.id_edit = QLineEdit()
        self.id_edit.setObjectName("addModelId")
        self.id_edit.setPlaceholderText("id (optional)")
        self.id_edit.setToolTip("The id to register the model under; empty = derived from the name")
        grid = QGridLayout(self)
        grid.addWidget(self.add_folder_button, 0, 0)
        grid.addWidget(self.add_gguf_button, 0, 1)
        grid.addWidget(self.add_endpoint_button, 0, 2)
        grid.addWidget(self.id_edit, 1, 0)
        grid.addWidget(self.labels_edit, 1, 1, 1, 2)
        grid.setColumnStretch(2, 1)

    def set_busy(self, busy: bool) -> None:
        """While a model change runs, no other can start."""
        self.add_folder_button.setEnabled(not busy)
        self.add_gguf_button.setEnabled(not busy)
        self.add_endpoint_button.setEnabled(not busy)

    @Slot()
    def add_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Add a model folder (ONNX classifier or Hugging Face safetensors)", self._last_dir)
        if path:
            self._request(path)

    @Slot()
    def add_gguf(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a GGUF model file", self._last_dir,
                                              "GGUF models (*.gguf);;All files (*)")
        if path:
            self._request(path)

    def _request(self, path: str) -> None:
        self._last_dir = str(Path(path).parent)
        # Labels only mean something for classifier folders; a GGUF is a generator.
        labels = "" if Path(path).suffix.lower() == ".gguf" else self.labels_edit.text().strip()
        self.addRequested.emit(path, labels, self.id_edit.text().strip())


def fit_prompt(parent: QWidget, fit: GgufFit, on_add: Callable[[], None], on_cancel: Callable[[], None]) -> QMessageBox:
    """A GGUF file that does not fit this machine: say so before it is added (and later loaded), with
    the figures, and let the operator cancel. Not modal: the answer arrives through ``finished``."""
    name = Path(fit.path).name
    est = fit.estimate
    where = [] if fit.fits_ram else [f"the RAM available now ({est.get('available_mb') or 0:,.0f} MB, of which "
                                     f"at most {RAM_SHARE:.0%} goes to one model)"]
    if not fit.fits_budget:
        where.append(f"the desk's model memory budget ({fit.budget_mb:,.0f} MB)")
    box = QMessageBox(QMessageBox.Icon.Warning, "Model may not fit this machine",
                      f"{name} needs about {est.get('total_mb', 0):,.0f} MB to run: more than "
                      f"{' and '.join(where)}.", QMessageBox.StandardButton.Cancel, parent)
    box.setObjectName("ggufFitPrompt")
    box.setInformativeText(
        f"Weights {est.get('weights_mb', 0):,.0f} MB + KV cache {est.get('kv_cache_mb', 0):,.0f} MB at "
        f"{est.get('context', 0):,} tokens + compute {est.get('compute_mb', 0):,.0f} MB ({est.get('architecture')}, "
        f"{est.get('layers')} layers), from the file's header. Loading it could slow the machine to a crawl or "
        "fail; the desk would then fall back to a smaller model. Add it anyway, or cancel and pick a smaller "
        "quantisation.")
    add = box.addButton("Add anyway", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)

    def answered(_result: int) -> None:
        (on_add if box.clickedButton() is add else on_cancel)()
        box.deleteLater()

    box.finished.connect(answered)
    box.open()
    return box
