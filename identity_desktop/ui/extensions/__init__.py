"""Window extensions: drop a module here and the main window installs it.

Each module in this package that defines ``install(window: MainWindow) -> None`` is imported
and installed, in module-name order, when a :class:`~identity_desktop.ui.main_window.MainWindow`
is built. See :mod:`identity_desktop.ui` for the window's extension API (actions, toolbar,
dialogs, dock panes). A module whose name starts with ``_`` is skipped (helpers).
"""
