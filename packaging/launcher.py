"""Entry script PyInstaller freezes into ``identity-desktop`` (the gui-script of pyproject.toml)."""

from __future__ import annotations

from identity_desktop.ui.app import main

if __name__ == "__main__":
    raise SystemExit(main())
