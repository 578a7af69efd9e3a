"""The desk's answer to an unusable data folder, before its main window (issue 22 item 8): the
dialog offers what can be done for the problem at hand, and app/gui.py carries the choice out.

Real parts: a real database truncated to half its size, the real check (engine/datadir.py), the
real dialog clicked through pytest-qt, the real backup and read-only copy on disk.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from PySide6.QtCore import Qt

from app.gui import prepare_data_dir
from engine.datadir import DataDirHealth, DataDirProblem, check_data_dir, read_only_copy
from engine.store import DB_FILE_NAME, Store
from tests.e2e.test_data_dir_cli import _database, _truncate
from tests.ui.conftest import save_screenshot
from ui.widgets.data_dir_dialog import NEW_DATABASE, READ_ONLY, DataDirDialog


def _clicking(qtbot, button_name: str, seen: list):
    """An ``ask`` for prepare_data_dir: shows the real dialog and clicks one of its buttons."""

    def ask(health):
        dialog = DataDirDialog(health)
        qtbot.addWidget(dialog)
        dialog.show()
        seen.append(dialog)
        qtbot.mouseClick(dialog.findChild(type(dialog.quit_button), button_name), Qt.MouseButton.LeftButton)
        return dialog.choice

    return ask


def test_a_truncated_database_is_backed_up_and_a_new_one_started(qtbot, tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = _database(data)
    _truncate(db)
    damaged = db.read_bytes()
    seen: list = []
    chosen, copy = prepare_data_dir(data, _clicking(qtbot, "newDatabaseButton", seen))
    dialog = seen[0]
    assert (chosen, copy, dialog.choice) == (data, None, NEW_DATABASE)
    assert not dialog.read_only_button.isEnabled()  # a truncated database cannot be read, even as a copy
    assert "is truncated" in dialog.text.text()
    save_screenshot(dialog, "data_dir_dialog_truncated")
    (backup,) = data.glob(f"{DB_FILE_NAME}.broken-*[0-9]")
    assert backup.read_bytes() == damaged  # nothing deleted
    store = Store(data / DB_FILE_NAME)  # the new database
    assert store.count_signals() == 0
    store.close()
    assert check_data_dir(data).ok


def test_quit_leaves_everything_as_it_was(qtbot, tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = _database(data)
    _truncate(db)
    before = sorted(p.name for p in data.iterdir())
    assert prepare_data_dir(data, _clicking(qtbot, "quitButton", [])) == (None, None)
    assert sorted(p.name for p in data.iterdir()) == before


def test_a_read_only_folder_offers_a_read_only_copy_that_changes_nothing(qtbot, tmp_path: Path) -> None:
    data = tmp_path / "data"
    _database(data)
    # The folder's check as it reads on a read-only mount (tests/e2e/test_data_dir_cli.py runs that for real).
    health = DataDirHealth(str(data), str(data / DB_FILE_NAME),
                           (DataDirProblem("not_writable", f"the data folder {data} cannot be written"),), False, True)
    dialog = DataDirDialog(health)
    qtbot.addWidget(dialog)
    assert dialog.read_only_button.isEnabled() and not dialog.new_database_button.isEnabled()
    qtbot.mouseClick(dialog.read_only_button, Qt.MouseButton.LeftButton)
    assert dialog.choice == READ_ONLY and dialog.result() == dialog.DialogCode.Accepted
    copy = read_only_copy(data)
    conn = sqlite3.connect(copy / DB_FILE_NAME)
    assert conn.execute("SELECT COUNT(*) FROM signals").fetchone()[0] == 400
    conn.execute("DELETE FROM signals")
    conn.commit()
    conn.close()
    original = Store(data / DB_FILE_NAME)
    assert original.count_signals() == 400
    original.close()
