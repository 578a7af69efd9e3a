"""The main window: six panels in tabs, menus, a log dock, a status bar and alert notifications."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QHeaderView, QLabel, QMainWindow, QStyle,
                               QTabWidget)

from engine.monitor import ProcessSample
from engine.types import ModelStatus
from ui.widgets.files import start_folder
from ui.widgets.about import show_about as show_about_dialog
from ui.panels.models import ModelsPanel
from ui.panels.monitor import MonitorPanel
from ui.panels.news import NewsPanel
from ui.panels.alerts import AlertNotifier, AlertSettingsDialog, AlertsLogDialog
from ui.panels.assets import AssetsPanel
from ui.panels.ideas import IdeasPanel
from ui.panels.calibration import CalibrationPanel
from ui.theme import ERROR_BADGE, WARNING_BADGE
from ui.widgets.log_view import LogView
from ui.widgets.settings_dialog import SettingsDialog
from ui.widgets.shortcuts_dialog import ShortcutsDialog
from ui.models.signal_table import COL_TEXT
from ui.widgets.tables import remember_columns

if TYPE_CHECKING:
    from app.bridge.desk import Desk
    from app.bridge.host import EngineInfo
    from app.log_bridge import LogBridge
    from app.sampler import ProcessMonitor

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

# Window-level shortcuts (the panels' own are beside their actions); each key means one thing.
SETTINGS_KEYS = "Ctrl+Alt+S"  # Ctrl+, is Alert settings
EVALUATE_KEYS = "Ctrl+Shift+L"
REFIT_KEYS = "Ctrl+Shift+F"
SHORTCUTS_KEYS = "F1"


class MainWindow(QMainWindow):
    def __init__(self, desk: Desk, monitor: ProcessMonitor, log_bridge: LogBridge,
                 settings: QSettings) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("SignalDesk")
        self._desk = desk
        self._monitor = monitor
        self._settings = settings
        self._shut_down = False
        self._alert_until = 0.0  # routine messages wait while an alert is on show

        # Each panel gets its own feature(s) of the desk, never the whole of it.
        self.news = NewsPanel(desk.analyze, desk.feedback, desk.explain, desk.live, settings,
                              watchlist=desk.watchlist)
        self.models = ModelsPanel(desk.models, desklearn=desk.desklearn)
        self.monitor_panel = MonitorPanel(desk.monitor)
        self.calibration = CalibrationPanel(desk.calibration)
        self.ideas = IdeasPanel(desk.ideas, desk.assets)
        self.assets = AssetsPanel(desk.assets, desk.watchlist)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        for panel, title in ((self.news, "News"), (self.models, "Models"), (self.monitor_panel, "Monitor"),
                             (self.calibration, "Calibration"), (self.ideas, "Ideas"), (self.assets, "Assets")):
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

        icon = QApplication.windowIcon()
        if icon.isNull():
            icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation)
        self.alert_notifier = AlertNotifier(desk.alerts, self, icon)
        self.alert_notifier.shown.connect(self.show_alert)
        self.alert_notifier.openLog.connect(self.show_alerts_log)
        self.alerts_log: AlertsLogDialog | None = None
        self.alert_settings: AlertSettingsDialog | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.shortcuts_dialog: ShortcutsDialog | None = None

        self._build_menus()

        desk.ready.connect(self._on_ready)
        desk.failed.connect(self._on_failed)
        desk.problem.connect(self.show_status)
        monitor.sampled.connect(self._on_sample)
        self.news.statusMessage.connect(self.show_status)
        self.ideas.statusMessage.connect(self.show_status)
        self.models.statusMessage.connect(self.show_status)  # switches, benchmarks
        self.models.alertMessage.connect(self.show_alert)  # fallbacks
        self.monitor_panel.statusMessage.connect(self.show_status)  # memory events, exports
        self.monitor_panel.alertMessage.connect(self.show_alert)  # memory actions that changed models
        self.calibration.statusMessage.connect(self.show_status)  # evaluations, refits
        self.assets.statusMessage.connect(self.show_status)
        self.news.live.assetRequested.connect(self.show_asset)
        desk.models.snapshot.connect(self._on_models_changed)
        desk.live.redis.connect(self._on_redis_status)
        if desk.info is not None:  # the engine may have started before the window was built
            self._on_ready(desk.info)
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
        self.settings_action = self._window_action("&Settings…", "settingsAction", SETTINGS_KEYS, self.show_settings,
                                                   "Thresholds, auto-explain, threads, memory budget and Redis")
        file_menu.addAction(self.settings_action)
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
        view_menu.addAction(self._panel_action(self.news.history_action, self.news, paste_tab=True))

        # Every panel action in a menu, with its shortcut. The panels own them (shortcut context:
        # the panel), so a key means one thing; chosen from a menu, the panel is brought forward.
        news_menu = self.menuBar().addMenu("&News")
        news_menu.addAction(self._panel_action(self.news.analyze_action, self.news, paste_tab=True))
        news_menu.addAction(self._panel_action(self.news.explain_action, self.news))
        news_menu.addAction(self._panel_action(self.news.explain_chain_action, self.news))
        news_menu.addSeparator()
        for action in self.news.feedback.verdict_actions:  # on the tab on show: Paste & score or Live
            news_menu.addAction(self._panel_action(action, self.news))
        news_menu.addSeparator()
        news_menu.addAction(self._panel_action(self.news.live.pause_action, self.news, live_tab=True))

        ideas_menu = self.menuBar().addMenu("&Ideas")
        for action in self.ideas.decision_actions.values():
            ideas_menu.addAction(self._panel_action(action, self.ideas))
        ideas_menu.addSeparator()
        ideas_menu.addAction(self._panel_action(self.ideas.propose_action, self.ideas))
        ideas_menu.addAction(self._panel_action(self.ideas.export_action, self.ideas))

        models_menu = self.menuBar().addMenu("&Models")
        for action in (self.models.switch_action, self.models.benchmark_action, self.models.remove_action,
                       self.models.refresh_action):
            models_menu.addAction(self._panel_action(action, self.models))
        models_menu.addSeparator()
        self.evaluate_action = self._window_action("&Evaluate on labelled file…", "evaluateLabelledAction",
                                                   EVALUATE_KEYS, self._evaluate_labelled,
                                                   "Score a labelled CSV and measure calibration (Calibration tab)")
        self.refit_action = self._window_action("Re&fit calibrator", "refitCalibratorAction", REFIT_KEYS,
                                                self._refit_calibrator,
                                                "Fit a calibrator with the Calibration tab's method; kept only if better")
        models_menu.addActions([self.evaluate_action, self.refit_action])
        if self.models.desk_versions is not None:
            models_menu.addSeparator()
            versions = self.models.desk_versions
            for action in (versions.train_action, versions.promote_action, versions.rollback_action,
                           versions.import_labels_action, versions.export_labels_action):
                models_menu.addAction(self._panel_action(action, self.models))

        assets_menu = self.menuBar().addMenu("&Assets")
        for text, name, keys, slot in (
                ("&Go to asset…", "goToAssetAction", "Ctrl+G", self.go_to_asset),
                ("&Watch the shown asset", "watchAssetAction", "Ctrl+D", self.assets.watch_shown),
                (None, None, None, None),
                ("Alerts &log…", "alertsLogAction", "Ctrl+Shift+A", self.show_alerts_log),
                ("Alert &settings…", "alertSettingsAction", "Ctrl+,", self.show_alert_settings)):
            if text is None:
                assets_menu.addSeparator()
                continue
            action = QAction(text, self)
            action.setObjectName(name)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(slot)
            assets_menu.addAction(action)
            self.addAction(action)  # the shortcut works with the menu bar hidden too

        help_menu = self.menuBar().addMenu("&Help")
        self.about_action = QAction("&About SignalDesk", self)
        self.about_action.setObjectName("aboutAction")
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)
        self.shortcuts_action = self._window_action("&Keyboard shortcuts", "shortcutsAction", SHORTCUTS_KEYS,
                                                    self.show_shortcuts, "Every shortcut of the menus")
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(self.about_action)

    def _window_action(self, text: str, name: str, keys: str, slot, tip: str = "") -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        action.setShortcut(QKeySequence(keys))
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)  # the shortcut works with the menu bar hidden too
        return action

    def _panel_action(self, action: QAction, panel, *, paste_tab: bool = False, live_tab: bool = False) -> QAction:
        """A panel's own action for a menu; chosen there, its tab comes forward to show the result."""
        def bring_forward() -> None:
            self.tabs.setCurrentWidget(panel)
            if paste_tab:
                self.news.views.setCurrentWidget(self.news.splitter)
            elif live_tab:
                self.news.views.setCurrentWidget(self.news.live)
        action.triggered.connect(bring_forward)
        return action

    @Slot()
    def _evaluate_labelled(self) -> None:
        self.tabs.setCurrentWidget(self.calibration)
        self.calibration.choose_labelled_file()

    @Slot()
    def _refit_calibrator(self) -> None:
        self.tabs.setCurrentWidget(self.calibration)
        self.calibration.refit()

    @Slot()
    def show_settings(self) -> None:
        dialog = SettingsDialog(self._desk.data_dir, self)
        dialog.saved.connect(lambda _values: self.show_status("Settings saved to config.toml; they apply at the "
                                                              "next start"))
        dialog.finished.connect(dialog.deleteLater)
        self.settings_dialog = dialog
        dialog.open()  # window-modal, non-blocking

    @Slot()
    def show_shortcuts(self) -> None:
        self.shortcuts_dialog = ShortcutsDialog(self.menuBar(), self)
        self.shortcuts_dialog.show()

    @Slot()
    def open_file(self) -> None:
        start = self._settings.value(KEY_LAST_DIR, "", type=str)
        path, _ = QFileDialog.getOpenFileName(self, "Open a text file", start_folder(start),
                                              "Text files (*.txt *.csv *.tsv *.md);;All files (*)")
        if not path:
            return
        self._settings.setValue(KEY_LAST_DIR, str(Path(path).parent))
        self.tabs.setCurrentWidget(self.news)
        self.news.load_file(path)

    @Slot(str)
    def show_asset(self, symbol: str) -> None:
        """Open ``symbol``'s asset view in the Assets tab (from a news row, an alert, …)."""
        self.tabs.setCurrentWidget(self.assets)
        self.assets.show_symbol(symbol)

    @Slot()
    def go_to_asset(self) -> None:
        self.tabs.setCurrentWidget(self.assets)
        self.assets.search.setFocus()
        self.assets.search.selectAll()

    @Slot()
    def show_alerts_log(self) -> None:
        if self.alerts_log is None:
            self.alerts_log = AlertsLogDialog(self._desk.alerts, self)
            self.alerts_log.assetRequested.connect(self.show_asset)
        self.alerts_log.reload()
        self.alerts_log.show()
        self.alerts_log.raise_()

    @Slot()
    def show_alert_settings(self) -> None:
        dialog = AlertSettingsDialog(self._desk.alerts, self)
        dialog.saved.connect(lambda s: self.show_status(
            "Alerts " + ("on" if s.config.enabled else "off") + ": settings saved to config.toml and applied"))
        dialog.finished.connect(dialog.deleteLater)
        self.alert_settings = dialog
        dialog.open()  # window-modal, non-blocking

    @Slot()
    def show_about(self) -> None:
        sentiment = self.models.snapshot.sentiment if self.models.snapshot else None  # switch/fallback since start
        self._about_dialog = show_about_dialog(self, self._desk.info, sentiment=sentiment)

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
        if self._desk.info is None:  # the engine never started: say so where it stays visible
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
        # Column order, widths, hidden ones and the sort: restored, and every change saved.
        table_header = self.news.table.horizontalHeader()
        saved = s.value(KEY_HEADER)
        remember_columns(self.news.table, s, KEY_HEADER)
        if isinstance(saved, QByteArray) and not saved.isEmpty():
            table_header.restoreState(saved)  # with the sort this time (remember_columns leaves it to us)
            for col in range(table_header.count()):
                mode = QHeaderView.ResizeMode.Stretch if col == COL_TEXT else QHeaderView.ResizeMode.Interactive
                table_header.setSectionResizeMode(col, mode)
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
            # Blocks briefly: the engine lane finishes its current batch (cancel is set) and closes the store.
            self._desk.shutdown()
        event.accept()
