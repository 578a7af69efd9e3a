"""The Models panel's "Add endpoint…" dialog: an OpenAI-compatible server (llama.cpp's server, Ollama,
LM Studio, vLLM) as a generation model for explanations.

It asks for the URL, the model name and the NAME of the environment variable that holds the API key,
never the key itself: nothing typed here is a secret, so nothing here can write one to disk or a
log. "Check connection" runs the health check (the server answers and serves the model) without
adding anything; "Add" asks the panel, which adds it through the models feature (health-checked
again there) and reports back with ``adding_done`` / ``adding_refused``. Not modal: the desk keeps
working while a slow server answers.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.theme import MESSAGE_STYLES

if TYPE_CHECKING:
    from app.bridge.models import EndpointHealth, ModelsFeature

# As engine/generation/endpoint_backend.py ENV_NAME: checked here first so that a key pasted into
# the field by mistake is refused without being echoed into any message or log.
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class EndpointDialog(QDialog):
    addRequested = Signal(str, str, str, str)  # url, model name, key variable name ("" = none), id ("" = derived)

    def __init__(self, models: ModelsFeature, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("endpointDialog")
        self.setWindowTitle("Add an OpenAI-compatible endpoint")
        self._models = models
        self._checking = False
        self._adding = False

        self.url_edit = QLineEdit()
        self.url_edit.setObjectName("endpointUrl")
        self.url_edit.setPlaceholderText("http://127.0.0.1:8080/v1")
        self.url_edit.setToolTip("The server's base URL (…/v1 is added when missing). No user:password in it")
        self.model_edit = QLineEdit()
        self.model_edit.setObjectName("endpointModel")
        self.model_edit.setPlaceholderText("the model name the server serves, e.g. llama3.1:8b")
        self.key_env_edit = QLineEdit()
        self.key_env_edit.setObjectName("endpointKeyEnv")
        self.key_env_edit.setPlaceholderText("e.g. OPENAI_API_KEY (empty: no key)")
        self.key_env_edit.setToolTip("The NAME of the environment variable holding the API key. The key stays "
                                     "in the environment: it is read at each call and never stored or logged")
        self.key_state = QLabel()
        self.key_state.setObjectName("endpointKeyState")
        self.id_edit = QLineEdit()
        self.id_edit.setObjectName("endpointId")
        self.id_edit.setPlaceholderText("id (optional, derived from the model name)")

        form = QFormLayout()
        form.addRow("URL:", self.url_edit)
        form.addRow("Model:", self.model_edit)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_env_edit, 1)
        key_row.addWidget(self.key_state)
        form.addRow("API key variable:", key_row)
        form.addRow("Id:", self.id_edit)

        note = QLabel("Only the variable's name is stored; set the key itself in the environment the desk "
                      "starts from. Explanations sent to a remote server leave this machine.")
        note.setObjectName("endpointNote")
        note.setWordWrap(True)
        note.setEnabled(False)  # secondary text

        self.check_button = QPushButton("&Check connection")
        self.check_button.setObjectName("endpointCheckButton")
        self.check_button.setToolTip("Ask the server for its models: it answers, and serves this model")
        self.check_button.clicked.connect(self.check)
        self.result = QLabel()
        self.result.setObjectName("endpointResult")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.hide()

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.add_button = self.buttons.addButton("&Add", QDialogButtonBox.ButtonRole.AcceptRole)
        self.add_button.setObjectName("endpointAddButton")
        self.add_button.setToolTip("Add it as a generation model (health-checked first); then select it and "
                                   "switch to it to use it for explanations")
        self.buttons.accepted.connect(self.request_add)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        check_row = QHBoxLayout()
        check_row.addWidget(self.check_button)
        check_row.addStretch(1)
        layout.addLayout(check_row)
        layout.addWidget(self.result)
        layout.addWidget(self.buttons)
        self.resize(560, self.sizeHint().height())

        for edit in (self.url_edit, self.model_edit, self.key_env_edit):
            edit.textChanged.connect(self._update)
        self._update()

    # -- state ------------------------------------------------------------------------------
    def _fields(self) -> tuple[str, str, str, str]:
        return (self.url_edit.text().strip(), self.model_edit.text().strip(), self.key_env_edit.text().strip(),
                self.id_edit.text().strip())

    @Slot()
    def _update(self) -> None:
        url, model, env, _ = self._fields()
        if not env:
            self.key_state.setText("no key sent")
        elif not ENV_NAME.match(env):
            self.key_state.setText("not a variable name")
        else:
            self.key_state.setText("set here ✓" if os.environ.get(env) else "not set here ✗")
        ready = bool(url and model) and not self._adding
        self.add_button.setEnabled(ready)
        self.check_button.setEnabled(ready and not self._checking)

    def show_result(self, text: str, kind: str) -> None:
        self.result.setStyleSheet(MESSAGE_STYLES.get(kind, MESSAGE_STYLES["info"]))
        self.result.setProperty("kind", kind)
        self.result.setText(text)
        self.result.show()

    def _env_ok(self) -> bool:
        env = self._fields()[2]
        if env and not ENV_NAME.match(env):
            # Most likely the key itself: cleared, and never repeated in the message.
            self.key_env_edit.clear()
            self.show_result("That is not an environment variable name. Enter the NAME of the variable that holds "
                             "the key (e.g. OPENAI_API_KEY), never the key itself.", "error")
            return False
        return True

    # -- actions ----------------------------------------------------------------------------
    @Slot()
    def check(self) -> None:
        url, model, env, _ = self._fields()
        if not (url and model) or not self._env_ok():
            return
        self._checking = True
        self._update()
        self.show_result(f"Checking {url}…", "info")
        self._models.check_endpoint(url, model, env, self._on_healthy, self._on_unhealthy)

    def _on_healthy(self, health: EndpointHealth) -> None:
        self._checking = False
        self._update()
        served = ", ".join(health.models[:6]) + (" …" if len(health.models) > 6 else "")
        self.show_result(f"✓ Healthy: {health.url} answered in {health.ms:,.0f} ms and serves {health.model}"
                         + (f" (all: {served})" if served else "") + ".", "info")

    def _on_unhealthy(self, message: str) -> None:
        self._checking = False
        self._update()
        self.show_result(f"✗ Health check failed: {message}", "error")

    @Slot()
    def request_add(self) -> None:
        url, model, env, model_id = self._fields()
        if not (url and model) or not self._env_ok():
            return
        self._adding = True
        self._update()
        self.show_result(f"Adding {model} at {url}: checking its health first…", "info")
        self.addRequested.emit(url, model, env, model_id)

    def adding_done(self, text: str) -> None:
        """The panel's answer: added. The dialog closes; the panel says what to do next."""
        self._adding = False
        self._update()
        self.show_result(text, "info")
        self.accept()

    def adding_refused(self, message: str) -> None:
        """The panel's answer: not added. The dialog stays open with what was typed, to fix it."""
        self._adding = False
        self._update()
        self.show_result(f"✗ Not added: {message}", "error")

    def reset(self) -> None:
        for edit in (self.url_edit, self.model_edit, self.key_env_edit, self.id_edit):
            edit.clear()
        self.result.hide()
        self._adding = self._checking = False
        self._update()
