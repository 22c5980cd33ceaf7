"""The main window: layout and wiring only (each pane is its own class and module).

Layout: a splitter with the filter pane (left), the report list (centre) and the detail pane
(right); menus, a toolbar and the status bar around it. While the vault is locked the splitter
is replaced by a "locked" page and the unlock dialog is shown.

Extension API (used by the fetch, redaction queue and export features): :meth:`add_action`,
:meth:`add_dock`, :meth:`menu`, plus ``window.session``, ``window.list_pane`` and
``window.context``; modules in :mod:`identity_desktop.ui.extensions` are installed here.
"""

from __future__ import annotations

import importlib
import pkgutil
from enum import StrEnum

from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QKeySequence,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from identity_desktop import APP_NAME
from identity_desktop.ui import extensions
from identity_desktop.ui.context import UiContext
from identity_desktop.ui.dialogs.help import show_about, show_shortcuts
from identity_desktop.ui.dialogs.unlock_dialog import UnlockDialog
from identity_desktop.ui.import_flow import ImportController
from identity_desktop.ui.panes.detail_pane import DetailPane
from identity_desktop.ui.panes.filter_pane import FilterPane
from identity_desktop.ui.panes.list_pane import ListPane
from identity_desktop.ui.panes.status_bar import StatusBar
from identity_desktop.ui.resources import app_icon, icon

DEFAULT_SIZE = QSize(1680, 1000)  # shrunk to the screen, never below MINIMUM_DEFAULT
MINIMUM_DEFAULT = QSize(1280, 800)
FILTER_WIDTH, DETAIL_WIDTH = 222, 372


class Menu(StrEnum):
    FILE = "&File"
    VIEW = "&View"
    TOOLS = "&Tools"
    HELP = "&Help"


class MainWindow(QMainWindow):
    def __init__(self, context: UiContext, *, load_extensions: bool = True) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.context = context
        self.session = context.session
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._locked_actions: list[QAction] = []
        self._menus: dict[Menu, QMenu] = {}
        self.unlock_dialog: UnlockDialog | None = None
        self._dock_sizes: list[tuple[QDockWidget, int, Qt.Orientation]] = []
        self._closing = False

        s, today = self.session, context.today
        self.filter_pane = FilterPane(s, today=today)
        self.list_pane = ListPane(s, today=today)
        self.detail_pane = DetailPane(s, context.clipboard, today=today)
        self.status = StatusBar(s, context.runner, self)
        self.imports = ImportController(s, self)
        self._build_central()
        self._build_actions()
        self.setStatusBar(self.status)
        self._wire()
        self._restore_layout()
        self._on_locked()
        if load_extensions:
            self._install_extensions()

    # -- layout -------------------------------------------------------------------------------
    def _build_central(self) -> None:
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.setChildrenCollapsible(False)
        for pane in (self.filter_pane, self.list_pane, self.detail_pane):
            self.splitter.addWidget(pane)
        self.detail_pane.setMinimumWidth(340)
        self.splitter.setStretchFactor(1, 1)

        self.locked_page = QWidget()
        self.locked_page.setObjectName("lockedPage")
        column = QVBoxLayout(self.locked_page)
        column.addStretch(1)
        logo = QLabel()
        logo.setPixmap(icon("lock").pixmap(64, 64))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.locked_label = QLabel("The vault is locked")
        self.locked_label.setObjectName("lockedLabel")
        self.locked_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.unlock_button = QPushButton(icon("unlock"), "Unlock…")
        self.unlock_button.clicked.connect(lambda: self.request_unlock())
        for widget in (logo, self.locked_label):
            column.addWidget(widget)
        column.addWidget(self.unlock_button, 0, Qt.AlignmentFlag.AlignCenter)
        column.addStretch(2)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.splitter)
        self.stack.addWidget(self.locked_page)
        self.setCentralWidget(self.stack)

    def _build_actions(self) -> None:
        bar = self.menuBar()
        for name in Menu:
            self._menus[name] = bar.addMenu(name.value)
        self.toolbar = QToolBar("Main toolbar", self)
        self.toolbar.setObjectName("mainToolbar")
        self.toolbar.setMovable(False)
        self.toolbar.setIconSize(QSize(22, 22))
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)

        file_menu, view_menu = self._menus[Menu.FILE], self._menus[Menu.VIEW]
        self.import_action = self._action("&Import…", "import", "Ctrl+O",
                                          self.imports.choose_files, requires_unlock=True)
        self.lock_action = self._action("&Lock", "lock", "Ctrl+L", self.session.lock,
                                        requires_unlock=True)
        self.idle_action = self._action("Idle lock &timeout…", None, None, self._edit_idle)
        self.quit_action = self._action("&Quit", "quit", QKeySequence.StandardKey.Quit,
                                        self.close)
        file_menu.addAction(self.import_action)
        self._file_anchor = file_menu.addSeparator()  # extensions' File actions go above it
        for action in (self.lock_action, self.idle_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        self.filters_action = QAction(icon("filter"), "&Filters", self)
        self.filters_action.setCheckable(True)
        self.filters_action.setChecked(True)
        self.filters_action.setToolTip("Show or hide the filter pane")
        self.filters_action.toggled.connect(self.filter_pane.setVisible)
        self.search_action = self._action("&Search", "search", "Ctrl+F", self.focus_search)
        self.focus_list_action = self._action("Report &list", None, "Ctrl+2",
                                              self.list_pane.focus_list)
        self.focus_detail_action = self._action("&Details", None, "Ctrl+3",
                                                self.detail_pane.focus_details)
        self.next_action = self._action("&Next report", None, ["J", "Alt+Down"],
                                        self.list_pane.next_report, requires_unlock=True)
        self.previous_action = self._action("&Previous report", None, ["K", "Alt+Up"],
                                            self.list_pane.previous_report,
                                            requires_unlock=True)
        for action in (self.search_action, self.focus_list_action, self.focus_detail_action):
            view_menu.addAction(action)
        view_menu.addSeparator()
        view_menu.addAction(self.next_action)
        view_menu.addAction(self.previous_action)
        view_menu.addSeparator()
        view_menu.addAction(self.filters_action)
        view_menu.addAction(self.toolbar.toggleViewAction())
        self._view_docks_anchor = view_menu.addSeparator()
        self._menus[Menu.TOOLS].menuAction().setVisible(False)  # until an extension adds one

        help_menu = self._menus[Menu.HELP]
        help_menu.addAction(self._action("&Keyboard shortcuts", None, "F1",
                                         lambda: show_shortcuts(self)))
        help_menu.addAction(self._action("&About Identity Desk", "about", None,
                                         lambda: show_about(self)))

        self.toolbar.addAction(self.import_action)
        self.toolbar.addAction(self.filters_action)
        self._toolbar_anchor = self.toolbar.addSeparator()  # extensions' buttons go before it
        self.toolbar.addAction(self.lock_action)

    def _action(self, text: str, icon_name: str | None, shortcut: object, slot: object, *,
                requires_unlock: bool = False) -> QAction:
        action = QAction(icon(icon_name) if icon_name else QIcon(), text, self)
        if isinstance(shortcut, list):
            action.setShortcuts([QKeySequence(s) for s in shortcut])
        elif shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))  # type: ignore[call-overload]
        if shortcut is not None:
            action.setToolTip(f"{text.replace('&', '').rstrip('…')} "
                              f"({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")
        action.triggered.connect(lambda _checked=False: slot())  # type: ignore[operator]
        self.addAction(action)  # shortcuts work even with the toolbar or menu hidden
        if requires_unlock:
            self._locked_actions.append(action)
        return action

    # -- extension API ------------------------------------------------------------------------
    def menu(self, name: Menu) -> QMenu:
        return self._menus[name]

    def add_action(self, action: QAction, *, menu: Menu | None = Menu.TOOLS,
                   toolbar: bool = False, requires_unlock: bool = True) -> QAction:
        """Add an extension's action to a menu (File: above Lock) and optionally the toolbar
        (before Lock). ``requires_unlock`` actions are disabled while the vault is locked."""
        if action.parent() is None:
            action.setParent(self)
        self.addAction(action)
        if menu is Menu.FILE:
            self._menus[menu].insertAction(self._file_anchor, action)
        elif menu is not None:
            self._menus[menu].addAction(action)
            self._menus[menu].menuAction().setVisible(True)
        if toolbar:
            self.toolbar.insertAction(self._toolbar_anchor, action)
        if requires_unlock:
            self._locked_actions.append(action)
            action.setEnabled(self.session.is_unlocked)
        return action

    def add_dock(self, widget: QWidget, title: str, *, object_name: str,
                 area: Qt.DockWidgetArea = Qt.DockWidgetArea.BottomDockWidgetArea,
                 shortcut: str | None = None, visible: bool = True,
                 size: int | None = None) -> QDockWidget:
        """Add a dock pane with a toggle in the View menu (its state is saved with the
        window's; ``object_name`` must be unique and stable). ``size``: its first-run height
        (top/bottom) or width (left/right) in pixels; default 180 / 320, so the report list
        keeps most of the window."""
        dock = QDockWidget(title, self)
        dock.setObjectName(object_name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        toggle = dock.toggleViewAction()
        if shortcut:
            toggle.setShortcut(QKeySequence(shortcut))
            self.addAction(toggle)
        self._menus[Menu.VIEW].insertAction(self._view_docks_anchor, toggle)
        dock.setVisible(visible)
        state = self.context.settings.state("state")
        if state is not None:
            self.restoreState(state)
        else:
            across = area in (Qt.DockWidgetArea.TopDockWidgetArea,
                              Qt.DockWidgetArea.BottomDockWidgetArea)
            self._dock_sizes.append((dock, size or (180 if across else 320),
                                     Qt.Orientation.Vertical if across
                                     else Qt.Orientation.Horizontal))
        return dock

    def _install_extensions(self) -> None:
        for info in sorted(pkgutil.iter_modules(extensions.__path__), key=lambda m: m.name):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{extensions.__name__}.{info.name}")
            install = getattr(module, "install", None)
            if callable(install):
                install(self)

    # -- wiring -------------------------------------------------------------------------------
    def _wire(self) -> None:
        s, lp, fp, dp = self.session, self.list_pane, self.filter_pane, self.detail_pane
        fp.sig_filter_changed.connect(lp.set_filter)
        lp.sig_counts_changed.connect(fp.set_counts)
        lp.sig_counts_changed.connect(self.status.set_counts)
        lp.sig_current_changed.connect(dp.show_position)
        lp.sig_activated.connect(dp.focus_details)
        dp.sig_message.connect(self.status.show_note)
        s.sig_unlocked.connect(self._on_unlocked)
        s.sig_locked.connect(self._on_locked)
        s.sig_locked.connect(self._after_lock)
        self.context.idle.sig_idle.connect(s.lock)
        self.imports.sig_finished.connect(
            lambda summary: self.status.show_note(f"Import: {summary.line()}", 8000))
        QWidget.setTabOrder(fp.reset_button, lp.view)
        QWidget.setTabOrder(lp.view, dp.tabs)

    def _on_unlocked(self) -> None:
        self.stack.setCurrentWidget(self.splitter)
        for action in self._locked_actions:
            action.setEnabled(True)
        self.context.idle.start()
        if self.unlock_dialog is not None and not self.unlock_dialog.busy:
            self.unlock_dialog.close()

    def _on_locked(self) -> None:
        self.stack.setCurrentWidget(self.locked_page)
        self.locked_label.setText("The vault is locked")
        for action in self._locked_actions:
            action.setEnabled(False)
        self.context.idle.stop()
        self.context.clipboard.clear_now()

    def _after_lock(self) -> None:
        if not self._closing:
            self.request_unlock()

    def set_locked_message(self, text: str) -> None:
        self.locked_label.setText(text)
        self.unlock_button.setVisible(False)

    def request_unlock(self, prefill: str | None = None) -> UnlockDialog:
        """Show the unlock (or create) dialog; with ``prefill`` it submits at once."""
        self.unlock_button.setVisible(True)
        dialog = self.unlock_dialog
        if dialog is None or not dialog.isVisible():
            dialog = UnlockDialog(self.session, create=not self.session.vault_exists,
                                  parent=self, prefill=prefill)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.destroyed.connect(lambda *_: setattr(self, "unlock_dialog", None))
            self.unlock_dialog = dialog
            dialog.open()
        dialog.raise_()
        dialog.activateWindow()
        if prefill:
            dialog.submit()
        return dialog

    def focus_search(self) -> None:
        self.filters_action.setChecked(True)
        self.filter_pane.focus_search()

    # -- drag and drop ------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.session.is_unlocked and _local_files(event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _local_files(event.mimeData().urls())
        if paths and self.session.is_unlocked:
            event.acceptProposedAction()
            self.imports.import_paths(paths)
        else:
            event.ignore()

    # -- small dialogs --------------------------------------------------------------------------
    def _edit_idle(self) -> None:
        settings = self.context.settings
        minutes, ok = QInputDialog.getInt(
            self, "Idle lock", "Lock the vault after this many minutes without input\n"
            "(0: never):", settings.idle_minutes, 0, 24 * 60)
        if ok:
            settings.idle_minutes = minutes
            self.context.idle.set_timeout(minutes * 60_000)

    # -- settings ------------------------------------------------------------------------------
    def _restore_layout(self) -> None:
        settings = self.context.settings
        geometry = settings.state("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(default_size(self.screen().availableGeometry().size()))
        self._splitter_restored = False
        for name, restore in (("state", self.restoreState),
                              ("splitter", self.splitter.restoreState),
                              ("header", self.list_pane.view.horizontalHeader().restoreState)):
            value = settings.state(name)
            if value is not None:
                restore(value)
                self._splitter_restored |= name == "splitter"

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._splitter_restored:  # first run: sizes only make sense once shown
            self._splitter_restored = True
            width = max(self.splitter.width(), self.width())
            left = max(FILTER_WIDTH, self.filter_pane.minimumWidth())
            self.splitter.setSizes([left, width - left - DETAIL_WIDTH, DETAIL_WIDTH])
        for dock, size, orientation in self._dock_sizes:  # first run only (no saved state)
            self.resizeDocks([dock], [size], orientation)
        self._dock_sizes.clear()

    def save_layout(self) -> None:
        settings = self.context.settings
        settings.set_state("geometry", self.saveGeometry())
        settings.set_state("state", self.saveState())
        settings.set_state("splitter", self.splitter.saveState())
        settings.set_state("header", self.list_pane.view.horizontalHeader().saveState())
        settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._closing = True
        self.save_layout()
        self.context.shutdown()
        super().closeEvent(event)


def default_size(available: QSize) -> QSize:
    fitted = DEFAULT_SIZE.boundedTo(QSize(int(available.width() * 0.92),
                                          int(available.height() * 0.92)))
    return fitted.expandedTo(MINIMUM_DEFAULT)


def _local_files(urls: list[QUrl]) -> list[str]:
    return [url.toLocalFile() for url in urls if url.isLocalFile() and url.toLocalFile()]
