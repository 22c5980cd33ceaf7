"""The Identity Desk window (PySide6). The only package that imports Qt.

Modules
-------
- ``app``: ``identity-desktop`` entry point (``--vault``, ``--passphrase-file``, ``--demo``,
  ``--screenshot`` ...).
- ``context``: :class:`UiContext`, what a window needs (session, settings, clipboard, idle
  watcher, "today"), built once and passed in; no global singletons.
- ``operations``: :class:`VaultRunner` (the vault's one owner thread) and :class:`VaultOp`
  (Anki's ``CollectionOp`` pattern: ``.success().failure().progress().run_in_background()``).
- ``session``: :class:`Session`, holds the unlocked ``Desk``; signals ``sig_unlocked``,
  ``sig_locked`` and ``sig_changed(VaultChanges)``; the only place the index is mutated.
- ``main_window``: layout and wiring only, plus the extension API below.
- ``panes/``: ``filter_pane``, ``list_pane``, ``detail_pane`` (+ ``json_view``), ``status_bar``.
- ``models/report_table_model``: the list's model over ``ReportIndex`` positions.
- ``dialogs/``: ``unlock_dialog`` (unlock / create), ``import_summary``.
- ``import_flow``: File > Import, toolbar and drag-and-drop, progress, cancel, summary.
- ``qtcompat``: keeps CPython 3.11 alive under PySide6 6.12.0, which drops references to
  ``None``/``True`` on every void call and emit (installed on import of this package).
- ``clipboard`` (sensitive copies, cleared after 30 s), ``idle`` (idle lock), ``settings``
  (QSettings: non-personal preferences only), ``resources`` (icons, stylesheet), ``format``.

Rules
-----
- Vault work only through ``session.run(body)`` / ``VaultOp``: the body runs on the vault thread
  with ``(desk, ctx)``, never touches widgets, reports ``ctx.progress(done, total, text)`` and
  polls ``ctx.cancelled()``. Results come back on the GUI thread.
- Mutations return summaries; apply them on the GUI thread with ``session.apply_changes(...)``
  (or ``session.apply_redaction_states(...)``): that updates the index and broadcasts one
  ``VaultChanges``. Panes react to the session's signals; no pane calls another.
- Personal data never goes to QSettings, logs or temp files. Copy values with
  ``window.context.clipboard.copy(text)``.

Adding to the window (fetch dialog, redaction queue pane, bundle export...)
--------------------------------------------------------------------------
Put a module in ``identity_desktop/ui/extensions/`` defining ``install(window)``; every window
installs each such module (name order) when it is built. Inside ``install``:

*A menu action and a toolbar button*::

    from PySide6.QtGui import QAction
    from identity_desktop.ui.main_window import Menu
    from identity_desktop.ui.resources import icon

    def install(window):
        action = QAction(icon("fetch"), "&Fetch from Stripe…", window)
        action.setShortcut("Ctrl+Shift+F")
        action.triggered.connect(lambda: FetchDialog(window).open())
        window.add_action(action, menu=Menu.FILE, toolbar=True)  # disabled while locked

``menu`` is ``Menu.FILE`` (inserted above Lock), ``Menu.VIEW``, ``Menu.TOOLS`` (shown once it
has an action) or ``Menu.HELP``; toolbar buttons go before the Lock button. Icons available in
``resources/icons/``: import, export, fetch, sync, redact, lock, unlock, filter, search, copy,
test, warning, expired, about, quit, app (SVG; add yours there).

*A dialog*: subclass ``QDialog`` with ``parent=window``, show it with ``open()`` (window-modal,
non-blocking). Take what it needs from ``window.session`` / ``window.context``; run vault work
with ``window.session.run(lambda desk, ctx: ..., parent=dialog).success(...)
.run_in_background()`` so a closed dialog drops its callbacks.

*A dock pane*::

    pane = RedactionQueuePane(window.session, window.list_pane)
    window.add_dock(pane, "Redaction queue", object_name="redactionQueueDock",
                    area=Qt.DockWidgetArea.BottomDockWidgetArea, shortcut="Ctrl+4")

The dock's toggle appears in the View menu and its placement is saved with the window's
layout; ``size=`` sets its first-run height (bottom/top, default 180 px) or width (sides).
A pane should connect to ``session.sig_unlocked / sig_locked / sig_changed`` itself (clear
everything on ``sig_locked``). The selected reports are
``window.list_pane.selected_report_ids()`` (positions: ``selected_positions()``; signal
``sig_selection_changed``); the current report is ``window.detail_pane.position`` (signal
``window.list_pane.sig_current_changed``). A button acting on the current report goes in the
detail pane's header with ``window.detail_pane.add_header_widget(button)``.

*Network work* (fetch, sync) belongs on its own worker thread, never on the vault thread; hand
the results to the vault with a ``session.run`` op and apply the returned summaries with
``session.apply_changes``. ``window.context.api_base`` carries ``--api-base``.

Locking and the view
--------------------
Locking (Ctrl+L, idle timeout) empties the models and the detail pane, clears the search text
and the clipboard (if it holds our value), and drops the desk (keys and decrypted index). What
survives in memory is only what is not personal: the non-text filters, the sort, the column
layout and the current row's *index position* (an int), so unlocking shows the same view minus
the search text. The filter text is deliberately not kept: it may be a person's name.
"""

from identity_desktop.ui import qtcompat as _qtcompat

_qtcompat.install()  # PySide6 6.12.0 refcount bug: must run before the window makes Qt calls
