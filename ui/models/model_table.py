"""Table model for the model registry: one row per ``engine.models.manager.ModelInfo``.

Rows come from ``ModelsSnapshot.models`` (already grouped by task by the engine). A refresh
with the same ids updates cells in place, so the view keeps its selection and sort order;
only an added or removed model resets the rows.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette

from engine.models import TASKS
from ui.models.base import RowTableModel
from ui.theme import is_dark

if TYPE_CHECKING:
    from engine.models.manager import ModelInfo

COLUMNS = ("Task", "Model", "Status", "Source", "Backend", "Version", "Size", "Memory",
           "p50 ms", "p95 ms", "Quality", "Compatibility")
(COL_TASK, COL_MODEL, COL_STATUS, COL_SOURCE, COL_BACKEND, COL_VERSION, COL_SIZE, COL_MEMORY,
 COL_P50, COL_P95, COL_QUALITY, COL_COMPAT) = range(len(COLUMNS))

_HEADER_TIPS = (
    "What the model does: sentiment scoring, embeddings for retrieval, or text generation",
    "Model id; ● marks the model serving its task now",
    "active = serving its task · loaded = in memory · available = can be switched to · "
    "incompatible = this machine or its budgets cannot run it · not installed = an optional model "
    "left out of this installation (its tooltip says how to add it) · missing = files that should "
    "be there were not found (a damaged install or a moved folder)",
    "shipped with SignalDesk, carried by a Python package, or added by you (only yours can be removed)",
    "Runtime that runs the model",
    "Model version (benchmarks and calibration are kept per version)",
    "Size of the model files on disk",
    "Memory it takes while loaded (measured at load)",
    "Median latency measured on this machine (per item; per token for generators)",
    "95th-percentile latency measured on this machine (per item; per token for generators)",
    "Weighted F1 on the labelled sample (classifiers) or tokens per second (generators), "
    "measured here; '(card)' = from the model card, not yet measured here",
    "Whether this machine can run it within the memory and latency budgets, and why",
)

# The ModelInfo itself, for code that needs more than the cell text.
MODEL_ROLE = Qt.ItemDataRole.UserRole
# Sort keys: task order and numbers rather than display text ("98 MB" > "253 MB" as text).
SORT_ROLE = Qt.ItemDataRole.UserRole + 1

ACTIVE_MARK = "●"
_TASK_ORDER = {task: i for i, task in enumerate(TASKS)}
NOT_INSTALLED = "not installed"
_STATUS_ORDER = {"active": 0, "loaded": 1, "available": 2, "incompatible": 3, NOT_INSTALLED: 4, "missing": 5}
# status -> ((light fg, light bg), (dark fg, dark bg)); explicit pairs, readable on any palette.
# "missing" is a real problem (damaged install, moved folder), so it stands out; "not installed"
# is a choice of the installer and stays as quiet as "incompatible".
_STATUS_HEX = {
    "active": (("#166534", "#dcfce7"), ("#86efac", "#14532d")),
    "loaded": (("#1e3a8a", "#dbeafe"), ("#93c5fd", "#1e3a8a")),
    "missing": (("#991b1b", "#fee2e2"), ("#fca5a5", "#7f1d1d")),
}

_Index = QModelIndex | QPersistentModelIndex


def usable(info: ModelInfo) -> bool:
    """Rows an operator may switch to or benchmark: present and compatible with this machine."""
    return info.compatible and info.status not in ("missing", NOT_INSTALLED)


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def quality_text(info: ModelInfo) -> str:
    bench = info.benchmark or {}
    f1 = _num(bench.get("weighted_f1"))
    if f1 is not None:
        return f"F1 {f1:.3f}"
    tps = _num(bench.get("tokens_per_s"))
    if tps is not None:
        return f"{tps:,.1f} tok/s"
    if info.quality is not None:
        return f"F1 {info.quality:.3f} (card)"
    return "–"


def _ms(value: Any) -> str:
    number = _num(value)
    if number is None:
        return "–"
    return f"{number:.2f}" if number < 100 else f"{number:,.0f}"


def _size(mb: float) -> str:
    if mb < 0.1:
        return "<0.1 MB"
    return f"{mb:,.1f} MB" if mb < 100 else f"{mb:,.0f} MB"


class ModelTableModel(RowTableModel):
    columns = COLUMNS
    header_tips = _HEADER_TIPS

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[ModelInfo] = []

    # -- mutation -----------------------------------------------------------------------
    def set_models(self, models: Sequence[ModelInfo]) -> None:
        models = list(models)
        if [m.id for m in models] == [m.id for m in self._rows]:
            # Same models (a status, memory or benchmark changed): update in place, so the
            # selection and the user's sort survive the frequent refreshes.
            self._rows = models
            if models:
                self.dataChanged.emit(self.index(0, 0), self.index(len(models) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self._rows = models
        self.endResetModel()

    def info_at(self, row: int) -> ModelInfo:
        return self._rows[row]

    def row_of(self, model_id: str) -> int:
        return next((i for i, m in enumerate(self._rows) if m.id == model_id), -1)

    def models(self) -> list[ModelInfo]:
        return list(self._rows)

    # -- Qt model API -------------------------------------------------------------------
    def flags(self, index: _Index) -> Qt.ItemFlag:
        # Unusable rows stay selectable (a missing user model must still be removable); they
        # look disabled and the panel refuses to switch to them.
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable if index.isValid() else Qt.ItemFlag.NoItemFlags

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        info = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(info, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(info)
        if role == MODEL_ROLE:
            return info
        if role == SORT_ROLE:
            return _sort_key(info, col, index.row())
        if role == Qt.ItemDataRole.FontRole:
            if info.active or not usable(info):
                font = QFont()
                font.setBold(info.active)
                font.setItalic(not usable(info))
                return font
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == COL_STATUS and info.status in _STATUS_HEX:  # its badge, on its own background
                return QColor(_STATUS_HEX[info.status][1 if is_dark() else 0][0])
            if not usable(info):
                return QGuiApplication.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
            return None
        if role == Qt.ItemDataRole.BackgroundRole and col == COL_STATUS and info.status in _STATUS_HEX:
            return QColor(_STATUS_HEX[info.status][1 if is_dark() else 0][1])
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col in (COL_SIZE, COL_MEMORY, COL_P50, COL_P95, COL_QUALITY):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if col == COL_STATUS:
                return int(Qt.AlignmentFlag.AlignCenter)
        return None


def _display(info: ModelInfo, col: int) -> str:
    bench = info.benchmark or {}
    if col == COL_TASK:
        return info.task
    if col == COL_MODEL:
        return f"{ACTIVE_MARK} {info.id}" if info.active else info.id
    if col == COL_STATUS:
        return info.status
    if col == COL_SOURCE:
        return info.origin
    if col == COL_BACKEND:
        return info.backend
    if col == COL_VERSION:
        return info.version
    if col == COL_SIZE:
        return _size(info.size_mb)
    if col == COL_MEMORY:
        return f"{info.memory_mb:,.0f} MB" if info.memory_mb is not None else "–"
    if col == COL_P50:
        return _ms(bench.get("p50_ms"))
    if col == COL_P95:
        return _ms(bench.get("p95_ms"))
    if col == COL_QUALITY:
        return quality_text(info)
    if col == COL_COMPAT:
        return f"✓ {info.reason}" if usable(info) else f"✗ {info.reason}"
    return ""


def _sort_key(info: ModelInfo, col: int, row: int) -> Any:
    bench = info.benchmark or {}
    missing = float("inf")  # unmeasured rows sort after measured ones
    if col == COL_TASK:
        return _TASK_ORDER.get(info.task, len(_TASK_ORDER)) * 1000 + row  # grouped, engine order within
    if col == COL_STATUS:
        return _STATUS_ORDER.get(info.status, 9)
    if col == COL_SIZE:
        return info.size_mb
    if col == COL_MEMORY:
        return info.memory_mb if info.memory_mb is not None else -1.0
    if col in (COL_P50, COL_P95):
        value = _num(bench.get("p50_ms" if col == COL_P50 else "p95_ms"))
        return missing if value is None else value
    if col == COL_QUALITY:
        for value in (_num(bench.get("weighted_f1")), _num(bench.get("tokens_per_s")), info.quality):
            if value is not None:
                return value
        return -1.0
    return _display(info, col).lower()


def not_installed_html(info: ModelInfo) -> str:
    """An optional model left out of this installation, as rich text: nothing is broken, which
    package is absent (the engine's reason) and the ways to add the model, one per line."""
    if not info.how_to_add:  # no structured ways: the engine's sentence says it all
        return f"Not installed (optional; nothing is broken): {html.escape(info.reason)}"
    package = info.reason.removeprefix("not installed: ").split(" To add it, ")[0]
    ways = "".join(f"<br>• {html.escape(way)}" for way in info.how_to_add)
    return f"Not installed (optional; nothing is broken): {html.escape(package)}<br>To add it:{ways}"


def _tooltip(info: ModelInfo) -> str:
    # Rich text, so Qt wraps long reasons instead of drawing a screen-wide tooltip.
    lines = [f"<b>{html.escape(info.id)}</b> {html.escape(info.version)} — {html.escape(info.task)}, "
             f"{html.escape(info.backend)}, {html.escape(info.origin)}"]
    if info.active:
        lines.append(f"Serving {html.escape(info.task)} now.")
    if info.status == NOT_INSTALLED:
        lines.append(not_installed_html(info))
    else:
        if info.status == "missing":
            lines.append("Files missing: the install may be damaged or the folder was moved.")
        verdict = "Usable here" if usable(info) else "Not usable here"
        lines.append(f"{verdict}: {html.escape(info.reason)}")
    bench = info.benchmark
    if bench:
        parts = [f"load {bench.get('load_s', 0):.2f} s", f"p50 {_ms(bench.get('p50_ms'))} ms",
                 f"p95 {_ms(bench.get('p95_ms'))} ms", f"RSS +{bench.get('rss_delta_mb', 0):,.0f} MB"]
        if _num(bench.get("accuracy")) is not None:
            parts.append(f"accuracy {bench['accuracy']:.3f}")
        if _num(bench.get("weighted_f1")) is not None:
            parts.append(f"weighted F1 {bench['weighted_f1']:.3f}")
        if _num(bench.get("tokens_per_s")) is not None:
            parts.append(f"{bench['tokens_per_s']:.1f} tokens/s")
        if _num(bench.get("first_token_ms")) is not None:
            parts.append(f"first token {bench['first_token_ms']:.0f} ms")
        lines.append("Benchmark on this machine: " + ", ".join(parts) + f" (n={bench.get('n', '?')})")
    elif usable(info):  # Ctrl+B is refused on rows it cannot use, so only offer it on usable ones
        lines.append("Not benchmarked on this machine yet (Ctrl+B).")
    if info.licence:
        lines.append(f"Licence: {html.escape(info.licence)}")
    return "<p>" + "<br>".join(lines) + "</p>"
