"""Entry script PyInstaller freezes into ``identity-desktop`` (the gui-script of pyproject.toml).

``--import-helper`` runs the import's helper process instead of the window: the frozen
executable is the only Python the packaged app has (see ``identity_desktop.importing.helper``).
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    if sys.argv[1:] == ["--import-helper"]:
        from identity_desktop.importing.helper import main as helper_main

        raise SystemExit(helper_main())
    from identity_desktop.ui.app import main

    raise SystemExit(main())
