"""The main window: five panels in tabs, menus, a log dock and a status bar."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QTabWidget

from engine.monitor import ProcessSample
from engine.types import ModelStatus
from ui.widgets.about import show_about as show_about_dialog
from ui.panels.models import ModelsPanel
from ui.panels.monitor import MonitorPanel
from ui.panels.news import NewsPanel
from ui.panels.ideas import IdeasPanel
from ui.panels.calibration import CalibrationPanel
from ui.theme import ERROR_BADGE, WARNING_BADGE
from ui.widgets.log_view import LogView

if TYPE_CHECKING:
    from app.log_bridge import LogBridge
    from app.sampler import ProcessMonitor
    from app.worker import EngineClient, EngineInfo

STATUS_MESSAGE_MS = 6000
ALERT_MESSAGE_MS = 15000  # model fallbacks: long enough to be read

# QSettings keys, in one place so a rename cannot silently drop a user's layout.
KEY_GEOMETRY = "mainWindow/geometry"
KEY_STATE = "mainWindow/state"
KEY_TAB = "mainWindow/tab"
KEY_SPLITTER = "news/splitter"
KEY_HEADER = "news/header"
KEY_LOG_LEVEL = "log/minLevel"
KEY_LAST_DIR = "files/lastDir"


class MainWindow(QMainWindow):
    def __init__(self, client: EngineClient, monitor: ProcessMonitor, log_bridge: LogBridge,
                 settings: QSettings) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("SignalDesk")
        self._client = client
        self._monitor = monitor
        self._settings = settings
        self._shut_down = False
        self._alert_until = 0.0  # routine messages wait while an alert is on show

        self.news = NewsPanel(client, settings)
        self.models = ModelsPanel(client)
        self.monitor_panel = MonitorPanel(client)
        self.calibration = CalibrationPanel(client)
        self.ideas = IdeasPanel(client)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        for panel, title in ((self.news, "News"), (self.models, "Models"), (self.monitor_panel, "Monitor"),
                             (self.calibration, "Calibration"), (self.ideas, "Ideas")):
            self.tabs.addTab(panel, title)
        self.setCentralWidget(self.tabs)

        self.log_view = LogView(log_bridge)
        self.log_dock = QDockWidget("Log", self)
        self.log_dock.setObjectName("logDock")  # restoreState() needs it
        self.log_dock.setWidget(self.log_view)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_dock)
        self.log_dock.hide()

        self.model_status = QLabel("Sentiment: loading…")
        self.model_status.setObjectName("statusModel")
        self.rss_status = QLabel("RSS –")
        self.rss_status.setObjectName("statusRss")
        self.rss_status.setToolTip("Resident memory of this process")
        # Shown only when Redis is configured (--redis / [redis] url): publishing and worker results.
        self.redis_status = QLabel("")
        self.redis_status.setObjectName("statusRedis")
        self.redis_status.hide()
        bar = self.statusBar()
        bar.setObjectName("statusBar")
        bar.addPermanentWidget(self.redis_status)
        bar.addPermanentWidget(self.model_status)
        bar.addPermanentWidget(self.rss_status)

        self._build_menus()

        client.ready.connect(self._on_ready)
        client.failed.connect(self._on_failed)
        monitor.sampled.connect(self._on_sample)
        self.news.statusMessage.connect(self.show_status)
        self.ideas.statusMessage.connect(self.show_status)
        self.models.statusMessage.connect(self.show_status)  # switches, benchmarks
        self.models.alertMessage.connect(self.show_alert)  # fallbacks
        self.monitor_panel.statusMessage.connect(self.show_status)  # memory events, exports
        self.monitor_panel.alertMessage.connect(self.show_alert)  # memory actions that changed models
        self.calibration.statusMessage.connect(self.show_status)  # evaluations, refits
        client.modelsChanged.connect(self._on_models_changed)
        client.redisStatus.connect(self._on_redis_status)
        if client.info is not None:  # the engine may have started before the window was built
            self._on_ready(client.info)
        if monitor.last is not None:
            self._on_sample(monitor.last)
        self._restore_settings()

    # -- menus --------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open file…", self)
        self.open_action.setObjectName("openFileAction")
        self.open_action.setShortcut(QKeySequence("Ctrl+O"))
        self.open_action.setStatusTip("Load a UTF-8 text file into the News paste box, one item per line")
        self.open_action.triggered.connect(self.open_file)
        file_menu.addAction(self.open_action)
        file_menu.addSeparator()
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setObjectName("quitAction")
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self.close)
        file_menu.addAction(self.quit_action)

        view_menu = self.menuBar().addMenu("&View")
        for index in range(self.tabs.count()):
            action = QAction(self.tabs.tabText(index), self)
            action.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
            action.triggered.connect(lambda _=False, i=index: self.tabs.setCurrentIndex(i))
            view_menu.addAction(action)
            self.addAction(action)  # shortcut works even with the menu bar hidden
        view_menu.addSeparator()
        self.log_action = self.log_dock.toggleViewAction()
        self.log_action.setObjectName("showLogAction")
        self.log_action.setText("Show &log")
        self.log_action.setShortcut(QKeySequence("Ctrl+L"))
        view_menu.addAction(self.log_action)

        help_menu = self.menuBar().addMenu("&Help")
        self.about_action = QAction("&About SignalDesk", self)
        self.about_action.setObjectName("aboutAction")
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)
        help_menu.addAction(self.about_action)

    @Slot()
    def open_file(self) -> None:
        start = self._settings.value(KEY_LAST_DIR, "", type=str)
        path, _ = QFileDialog.getOpenFileName(self, "Open a text file", start,
                                              "Text files (*.txt *.csv *.tsv *.md);;All files (*)")
        if not path:
            return
        self._settings.setValue(KEY_LAST_DIR, str(Path(path).parent))
        self.tabs.setCurrentWidget(self.news)
        self.news.load_file(path)

    @Slot()
    def show_about(self) -> None:
        sentiment = self.models.snapshot.sentiment if self.models.snapshot else None  # switch/fallback since start
        self._about_dialog = show_about_dialog(self, self._client.info, sentiment=sentiment)

    @Slot(str)
    def show_status(self, message: str) -> None:
        # A fallback usually lands just before "Scored …" of the same batch; it must not be
        # replaced within milliseconds. Routine messages are dropped meanwhile.
        if time.monotonic() < self._alert_until:
            return
        self.statusBar().showMessage(message, STATUS_MESSAGE_MS)

    @Slot(str)
    def show_alert(self, message: str) -> None:
        self._alert_until = time.monotonic() + ALERT_MESSAGE_MS / 1000
        self.statusBar().showMessage(message, ALERT_MESSAGE_MS)

    @Slot(object)
    def _on_redis_status(self, state) -> None:
        # The full lines (lag, counts, last error) in the tooltip; the bar keeps a short form.
        self.redis_status.setText("Redis ●" if state.connected else "Redis ○ offline")
        self.redis_status.setStyleSheet("" if state.connected else "color: #b35900;")
        self.redis_status.setToolTip(state.message.replace(" · ", "\n"))
        self.redis_status.show()

    def _on_ready(self, info: EngineInfo) -> None:
        self.models.set_info(info)
        self._show_model_status(info.sentiment)
        self.show_status(f"Engine ready: SignalDesk {info.version}")

    def _show_model_status(self, status: ModelStatus) -> None:
        text = f"Sentiment: {status.model_id} {status.version}"
        if status.degraded:
            self.model_status.setText(f"⚠ {text} (fallback)")
            self.model_status.setStyleSheet(WARNING_BADGE)
            self.model_status.setToolTip(f"Degraded: {status.reason}")
        else:
            self.model_status.setText(text)
            self.model_status.setStyleSheet("")
            self.model_status.setToolTip(f"{status.backend} backend")

    @Slot(object)
    def _on_models_changed(self, snapshot) -> None:
        # Switches and fallbacks change the serving model after startup; keep the badge true.
        self._show_model_status(snapshot.sentiment)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._client.info is None:  # the engine never started: say so where it stays visible
            self.model_status.setText("Sentiment: engine not running")
            self.model_status.setStyleSheet(ERROR_BADGE)
            self.model_status.setToolTip(message)
            self.models.set_failed(message)
        self.show_status(message)

    @Slot(object)
    def _on_sample(self, sample: ProcessSample) -> None:
        self.rss_status.setText(f"RSS {sample.rss_mb:,.0f} MB")

    # -- persistence and shutdown -------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self._settings
        geometry = s.value(KEY_GEOMETRY)
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1200, 760)
        state = s.value(KEY_STATE)
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        splitter = s.value(KEY_SPLITTER)
        if isinstance(splitter, QByteArray) and not splitter.isEmpty():
            self.news.splitter.restoreState(splitter)
        header = s.value(KEY_HEADER)
        if isinstance(header, QByteArray) and not header.isEmpty():
            table_header = self.news.table.horizontalHeader()
            table_header.restoreState(header)
            # restoreState only redraws the arrow; apply the saved sort (-1 = arrival order).
            self.news.table.sortByColumn(table_header.sortIndicatorSection(), table_header.sortIndicatorOrder())
        self.news.live.restore_settings(s)  # its filters, search and sort ("live/..."), saved as they change
        self.tabs.setCurrentIndex(min(max(s.value(KEY_TAB, 0, type=int), 0), self.tabs.count() - 1))
        self.log_view.set_min_level(s.value(KEY_LOG_LEVEL, self.log_view.min_level(), type=int))

    def save_settings(self) -> None:
        s = self._settings
        s.setValue(KEY_GEOMETRY, self.saveGeometry())
        s.setValue(KEY_STATE, self.saveState())
        s.setValue(KEY_TAB, self.tabs.currentIndex())
        s.setValue(KEY_SPLITTER, self.news.splitter.saveState())
        s.setValue(KEY_HEADER, self.news.table.horizontalHeader().saveState())
        s.setValue(KEY_LOG_LEVEL, self.log_view.min_level())
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._shut_down:
            self._shut_down = True
            self.save_settings()
            self._monitor.stop()
            # Blocks briefly: the worker finishes its current batch (cancel is set) and closes the store.
            self._client.shutdown()
        event.accept()
