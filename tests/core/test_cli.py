"""The command line as users and scripts drive it: where the vault and passphrase come from,
option placement, exit statuses, ``init`` and ``passwd``. ``init`` runs with the default
Argon2id cost; the shared vault uses a cheap one (see ``_support``), which ``passwd`` keeps."""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from identity_desktop.cli.main import main
from identity_desktop.demo import generate_reports
from tests.conftest import PASSPHRASE
from tests.core._support import (
    NOW,
    cli,
    copy_vault,
    digest,
    isolated_env,
    make_vault,
    one_error_line,
    write_passphrase,
    write_reports,
)

COUNT = 300


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A vault filled through the CLI; tests here only read it (or a copy)."""
    root = tmp_path_factory.mktemp("cli")
    env = isolated_env(root)
    vault = make_vault(root / "work" / "vault.idvault")
    passphrase = write_passphrase(root / "passphrase.txt")
    reports = list(generate_reports(COUNT, seed=17, now=NOW))
    source = write_reports(root / "inputs.jsonl", reports, "jsonl")
    result = cli("import", str(source), env=env, vault=vault, passphrase_file=passphrase)
    assert result.returncode == 0, result.stderr
    listing = cli("list", "--json", env=env, vault=vault, passphrase_file=passphrase).stdout
    return {"root": root, "env": env, "vault": vault, "passphrase": passphrase,
            "reports": reports, "listing": listing}


@pytest.fixture
def own_vault(shared: dict[str, Any], vault_path: Path) -> Path:
    """A copy of the shared vault at the test's own ``vault_path`` (for ``run_cli``)."""
    return copy_vault(shared["vault"], vault_path)


def test_init_makes_a_private_vault_and_refuses_to_overwrite(
        run_cli: Callable[..., Any], tmp_path: Path) -> None:
    vault = tmp_path / "new" / "nested" / "vault.idvault"
    result = run_cli("init", vault=vault)
    assert result.returncode == 0, result.stderr
    assert f"created a vault at {vault}" in result.stderr
    assert _mode(vault) == 0o600
    assert _mode(vault.parent) == 0o700 and _mode(vault.parent.parent) == 0o700
    assert sorted(p.name for p in vault.parent.iterdir()) == ["vault.idvault"]

    before = digest(vault)
    line = one_error_line(run_cli("init", vault=vault))
    assert "already exists" in line and "refusing to overwrite" in line
    assert digest(vault) == before


def test_default_vault_location_is_the_user_data_folder(run_cli: Callable[..., Any],
                                                        isolated_home: Path) -> None:
    expected = Path(os.environ["XDG_DATA_HOME"]) / "identity-desk" / "vault.idvault"
    result = run_cli("init", vault=None)
    assert result.returncode == 0, result.stderr
    assert f"created a vault at {expected}" in result.stderr
    assert expected.is_file() and _mode(expected) == 0o600 and _mode(expected.parent) == 0o700
    listed = run_cli("list", vault=None)
    assert listed.returncode == 0 and "0 report(s)" in listed.stderr


def test_passphrase_from_environment(shared: dict[str, Any]) -> None:
    env = {**shared["env"], "IDENTITY_DESK_PASSPHRASE": PASSPHRASE}
    result = cli("list", "--json", env=env, vault=shared["vault"])
    assert result.stdout == shared["listing"]
    # The file, when given, wins over the environment.
    env["IDENTITY_DESK_PASSPHRASE"] = "not the passphrase"
    result = cli("list", "--json", env=env, vault=shared["vault"],
                 passphrase_file=shared["passphrase"])
    assert result.stdout == shared["listing"]
    line = one_error_line(cli("list", env=env, vault=shared["vault"]))
    assert f"wrong passphrase for the vault at {shared['vault']}" in line


@pytest.mark.parametrize("command", [["list"], ["import", "x.json"], ["passwd"]])
def test_no_passphrase_and_no_terminal_is_a_clear_error(shared: dict[str, Any],
                                                        command: list[str]) -> None:
    before = digest(shared["vault"])
    line = one_error_line(cli(*command, env=shared["env"], vault=shared["vault"], input=""))
    assert line == ("identity-desk: error: no passphrase given: use --passphrase-file or set "
                    "IDENTITY_DESK_PASSPHRASE")
    assert digest(shared["vault"]) == before


def test_init_without_passphrase_and_terminal(run_cli: Callable[..., Any],
                                              vault_path: Path) -> None:
    line = one_error_line(run_cli("init", passphrase=None, input=""))
    assert "no passphrase given" in line
    assert not vault_path.exists()


def test_global_options_before_or_after_the_command(shared: dict[str, Any]) -> None:
    vault, passphrase = str(shared["vault"]), str(shared["passphrase"])
    for argv in (["--vault", vault, "--passphrase-file", passphrase, "list", "--json"],
                 ["list", "--json", "--vault", vault, "--passphrase-file", passphrase],
                 ["--vault", vault, "list", "--passphrase-file", passphrase, "--json"],
                 ["--passphrase-file", passphrase, "list", "--vault", vault, "--json",
                  "--verbose"]):
        result = cli(*argv, env=shared["env"])
        assert result.returncode == 0, (argv, result.stderr)
        assert result.stdout == shared["listing"], argv
    # After the command wins over before it, as with any repeated option.
    result = cli("--vault", "/nonexistent/vault", "list", "--json", "--vault", vault,
                 env=shared["env"], passphrase_file=shared["passphrase"])
    assert result.stdout == shared["listing"]


BAD_USAGE = [
    [],
    ["frobnicate"],
    ["list", "--no-such-option"],
    ["show"],
    ["import"],
    ["list", "--expires-within", "soon"],
    ["list", "--mode", "staging"],
    ["list", "--created-from", "last tuesday"],
    ["list", "--expires-before", "2026-02-30"],
    ["list", "--redaction", "maybe"],
]


def test_bad_usage_exits_2(shared: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    # In-process first (the same main(), minus ten interpreter start-ups)...
    for argv in BAD_USAGE:
        old_umask = os.umask(0o022)
        level = logging.getLogger().level
        try:
            status = main([*argv, "--vault", str(shared["vault"]), "--passphrase-file",
                           str(shared["passphrase"])] if argv else [])
        except SystemExit as exc:
            status = exc.code
        finally:  # main() tightens the umask and sets up logging for the whole process
            os.umask(old_umask)
            logging.getLogger().setLevel(level)
        err = capsys.readouterr().err
        assert status == 2, (argv, err)
        assert "Traceback" not in err and "usage: identity-desk" in err
        assert re.match(r"identity-desk( \w+)?: error: ", err.splitlines()[-1]), err
    # ...then as real processes, for the exit status a shell sees.
    for argv in (["frobnicate"], ["list", "--created-from", "last tuesday"]):
        result = cli(*argv, env=shared["env"], vault=shared["vault"],
                     passphrase_file=shared["passphrase"])
        assert result.returncode == 2 and "Traceback" not in result.stderr, argv


def test_handled_errors_exit_1(shared: dict[str, Any], tmp_path: Path) -> None:
    env = shared["env"]
    line = one_error_line(cli("list", env=env, vault=tmp_path / "none.idvault",
                              passphrase_file=shared["passphrase"]))
    assert f"no vault at {tmp_path / 'none.idvault'}" in line
    line = one_error_line(cli("list", env=env, vault=shared["vault"],
                              passphrase_file=tmp_path / "missing.txt"))
    assert f"cannot read the passphrase file {tmp_path / 'missing.txt'}" in line
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    line = one_error_line(cli("list", env=env, vault=shared["vault"], passphrase_file=empty))
    assert f"the passphrase file {empty} is empty" in line


def test_passwd_with_a_file_then_with_the_environment(
        shared: dict[str, Any], own_vault: Path, run_cli: Callable[..., Any],
        tmp_path: Path) -> None:
    second = write_passphrase(tmp_path / "second.txt", "second passphrase")
    result = run_cli("passwd", "--new-passphrase-file", str(second))
    assert result.returncode == 0, result.stderr
    assert "passphrase changed" in result.stderr

    line = one_error_line(run_cli("list"))
    assert line == f"identity-desk: error: wrong passphrase for the vault at {own_vault}"
    assert run_cli("list", "--json", passphrase=second).stdout == shared["listing"]

    result = run_cli("passwd", passphrase=second,
                     env={"IDENTITY_DESK_NEW_PASSPHRASE": "third passphrase"})
    assert result.returncode == 0, result.stderr
    # Both earlier passphrases fail now.
    assert "wrong passphrase" in one_error_line(run_cli("list", passphrase=second))
    assert "wrong passphrase" in one_error_line(run_cli("list"))
    env = {"IDENTITY_DESK_PASSPHRASE": "third passphrase"}
    assert run_cli("list", "--json", passphrase=None, env=env).stdout == shared["listing"]
    for report in shared["reports"][:: COUNT // 3]:
        shown = run_cli("show", report["id"], "--json", passphrase=None, env=env)
        assert orjson.loads(shown.stdout) == report


def test_passwd_failures_change_nothing(own_vault: Path, run_cli: Callable[..., Any],
                                        tmp_path: Path) -> None:
    before = digest(own_vault)
    wrong = write_passphrase(tmp_path / "wrong.txt", "not the passphrase")
    new = write_passphrase(tmp_path / "new.txt", "new passphrase")
    line = one_error_line(run_cli("passwd", "--new-passphrase-file", str(new), passphrase=wrong))
    assert "wrong passphrase" in line
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    line = one_error_line(run_cli("passwd", "--new-passphrase-file", str(empty)))
    assert f"the new passphrase file {empty} is empty" in line
    line = one_error_line(run_cli("passwd", input=""))  # no new passphrase, no terminal
    assert "no passphrase given" in line
    assert digest(own_vault) == before
    assert run_cli("list").returncode == 0
