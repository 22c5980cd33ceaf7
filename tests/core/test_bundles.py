"""Encrypted export bundles (age): the vault's identity, export (streamed, atomic, to several
recipients or a passphrase), import, and one clear error per way a bundle can be broken, with
the vault unchanged. Interop with the ``age`` tool itself is in ``test_age_interop``."""

from __future__ import annotations

import random
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pyrage
import pytest
from pyrage import x25519

from identity_desktop import bundles
from identity_desktop.bundles import (
    decrypt_bundle,
    ensure_vault_identity,
    export_bundle,
    export_reports,
    path_needs_passphrase,
    public_key,
    public_key_of,
    vault_identity,
)
from identity_desktop.bundles.header import read_header
from identity_desktop.demo import generate_reports
from identity_desktop.desk import Desk
from identity_desktop.errors import BundleError, IdentityDeskError
from identity_desktop.index import ReportFilter
from identity_desktop.vault import Vault
from identity_desktop.vault.reports import get_report, load_summaries, report_count
from tests.conftest import PASSPHRASE
from tests.core._support import (
    NOW,
    assert_no_plaintext,
    copy_vault,
    digest,
    fast_kdf,
    make_vault,
    one_error_line,
    sensitive_values,
)

ADMIN_REPORTS = 60
CHUNK = 64 * 1024 + 16  # one age payload chunk with its tag


@pytest.fixture(scope="module")
def reports() -> list[dict[str, Any]]:
    return list(generate_reports(ADMIN_REPORTS, seed=11, now=NOW))


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory,
              reports: list[dict[str, Any]]) -> dict[str, Path]:
    """An admin vault holding the reports and an empty reviewer vault (cheap KDF, each with
    its age identity as ``init`` leaves it); tests work on copies."""
    root = tmp_path_factory.mktemp("bundle-templates")
    return {"admin": make_vault(root / "admin.idvault", reports),
            "reviewer": make_vault(root / "reviewer.idvault")}


@pytest.fixture
def admin(templates: dict[str, Path], tmp_path: Path) -> Iterator[Desk]:
    path = copy_vault(templates["admin"], tmp_path / "admin" / "vault.idvault")
    desk = Desk.open(path, PASSPHRASE)
    yield desk
    desk.lock()


@pytest.fixture
def reviewer_path(templates: dict[str, Path], tmp_path: Path) -> Path:
    return copy_vault(templates["reviewer"], tmp_path / "reviewer" / "vault.idvault")


def _reviewer_key(path: Path) -> str:
    with Vault.open(path, PASSPHRASE) as vault:
        return public_key(vault)


def _jsonl(data: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in data.splitlines()]


# ---- the vault's identity ---------------------------------------------------------------------


def test_a_new_vault_has_its_own_identity_kept_encrypted(
        vault_path: Path, all_written_files: Callable[[], Iterator[Path]]) -> None:
    desk = Desk.create(vault_path, PASSPHRASE)
    key = public_key(desk.vault)
    secret = vault_identity(desk.vault)
    desk.lock()
    assert key.startswith("age1") and secret.startswith("AGE-SECRET-KEY-1")
    assert public_key_of(secret) == key
    with Vault.open(vault_path, PASSPHRASE) as vault:  # stable across unlocks
        assert (public_key(vault), vault_identity(vault)) == (key, secret)
        assert ensure_vault_identity(vault) == key
    for path in all_written_files():
        data = path.read_bytes()
        assert secret.encode() not in data and secret.lower().encode() not in data, path.name
        assert b"AGE-SECRET-KEY" not in data, path.name


def test_an_older_vault_gets_an_identity_once(tmp_path: Path) -> None:
    path = tmp_path / "old.idvault"
    with Vault.create(path, PASSPHRASE, kdf=fast_kdf()) as vault:  # as before bundles existed
        first = vault_identity(vault)
        assert vault_identity(vault) == first
    with Vault.open(path, PASSPHRASE) as vault:
        assert vault_identity(vault) == first
    other = tmp_path / "other.idvault"
    with Vault.create(other, PASSPHRASE, kdf=fast_kdf()) as vault:
        assert vault_identity(vault) != first  # each vault its own key


def test_cli_init_creates_the_identity_and_key_show_prints_it(run_cli: Any,
                                                             vault_path: Path) -> None:
    assert run_cli("init").returncode == 0
    shown = run_cli("key", "show")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == _reviewer_key(vault_path)
    assert shown.stdout.strip().startswith("age1") and shown.stdout.count("\n") == 1


# ---- export and import ------------------------------------------------------------------------


def test_export_to_several_recipients_round_trips(
        admin: Desk, reviewer_path: Path, tmp_path: Path, reports: list[dict[str, Any]]) -> None:
    recovery = x25519.Identity.generate()  # an organisation's recovery key
    out = tmp_path / "out" / "batch.age"
    out.parent.mkdir()
    calls: list[tuple[int, int | None]] = []
    count = export_reports(admin, out, recipients=[_reviewer_key(reviewer_path),
                                                   str(recovery.to_public())],
                           progress=lambda done, total: calls.append((done, total)))
    assert count == ADMIN_REPORTS
    assert calls[-1] == (ADMIN_REPORTS, ADMIN_REPORTS)
    assert [d for d, _ in calls] == sorted({d for d, _ in calls})
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sorted(p.name for p in out.parent.iterdir()) == ["batch.age"]  # no temp left

    # The recovery key opens it too; inside: JSON Lines of the raw reports, newest first.
    inside = _jsonl(pyrage.decrypt(out.read_bytes(), [recovery]))
    by_id = {r["id"]: r for r in reports}
    assert len(inside) == ADMIN_REPORTS and all(r == by_id[r["id"]] for r in inside)
    assert [r["created"] for r in inside] == sorted((r["created"] for r in inside), reverse=True)

    reviewer = Desk.open(reviewer_path, PASSPHRASE)
    try:
        summary = reviewer.import_files([out])
        assert (summary.added, summary.errors) == (ADMIN_REPORTS, [])
        assert len(reviewer.index) == ADMIN_REPORTS
        assert all(reviewer.report(r["id"]) == r for r in reports)
    finally:
        reviewer.lock()


def test_export_of_a_filter_or_a_selection(admin: Desk, tmp_path: Path,
                                           reports: list[dict[str, Any]]) -> None:
    me = x25519.Identity.generate()
    recipients = [str(me.to_public())]
    flt = ReportFilter(statuses=frozenset({"verified"}))
    expected = {admin.index.report_id(p) for p in admin.index.query(flt).tolist()}
    assert 0 < len(expected) < ADMIN_REPORTS
    n = export_reports(admin, tmp_path / "f.age", flt=flt, recipients=recipients)
    got = _jsonl(pyrage.decrypt((tmp_path / "f.age").read_bytes(), [me]))
    assert n == len(expected) and {r["id"] for r in got} == expected

    chosen = [reports[7]["id"], reports[3]["id"], reports[7]["id"]]
    n = export_reports(admin, tmp_path / "s.age", report_ids=chosen, recipients=recipients)
    got = _jsonl(pyrage.decrypt((tmp_path / "s.age").read_bytes(), [me]))
    assert n == 2 and [r["id"] for r in got] == chosen[:2]  # selection order, no duplicates

    with pytest.raises(BundleError, match="no report vr_missing in the vault"):
        export_reports(admin, tmp_path / "m.age", report_ids=["vr_missing"],
                       recipients=recipients)
    with pytest.raises(BundleError, match="nothing to export"):
        export_reports(admin, tmp_path / "e.age", flt=ReportFilter(text="no such words"),
                       recipients=recipients)
    with pytest.raises(BundleError, match="over the vault itself"):
        export_reports(admin, admin.vault.path, recipients=recipients)
    assert not (tmp_path / "m.age").exists() and not (tmp_path / "e.age").exists()


def test_bad_recipients_are_named_and_secrets_never_echoed(tmp_path: Path,
                                                          reports: list[dict[str, Any]]) -> None:
    good = str(x25519.Identity.generate().to_public())
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "x.age"
    with pytest.raises(BundleError, match=r"recipient 2 is not an age public key.*'age1oops'"):
        export_bundle(reports, out, recipients=[good, "age1oops"])
    secret = str(x25519.Identity.generate())
    with pytest.raises(BundleError, match="recipient 1 is a secret key") as caught:
        export_bundle(reports, out, recipients=[secret])
    assert secret not in str(caught.value) and secret[16:40] not in str(caught.value)
    with pytest.raises(BundleError, match="either recipients"):
        export_bundle(reports, out, recipients=[good], passphrase="pw")
    with pytest.raises(BundleError, match="either recipients"):
        export_bundle(reports, out)
    with pytest.raises(BundleError, match="does not exist"):
        export_bundle(reports, folder / "nowhere" / "x.age", recipients=[good])
    assert list(folder.iterdir()) == []


def test_cancel_or_failure_leaves_the_destination_as_it_was(tmp_path: Path) -> None:
    many = list(generate_reports(400, seed=5, now=NOW))  # several 64 KiB chunks
    key = str(x25519.Identity.generate().to_public())
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "batch.age"
    out.write_bytes(b"the previous bundle")
    seen: list[int] = []

    def cancelled() -> bool:
        return bool(seen) and seen[-1] >= 200

    with pytest.raises(bundles.ExportCancelledError, match="nothing was written"):
        export_bundle(many, out, recipients=[key], cancelled=cancelled,
                      progress=lambda done, total: seen.append(done))
    assert seen and seen[-1] == 200
    assert out.read_bytes() == b"the previous bundle"
    assert sorted(p.name for p in folder.iterdir()) == ["batch.age"]

    def failing() -> Iterator[dict[str, Any]]:
        yield from many[:250]
        raise IdentityDeskError("the vault at V is damaged")  # e.g. a record fails its check

    with pytest.raises(IdentityDeskError, match="damaged"):
        export_bundle(failing(), out, recipients=[key])
    assert out.read_bytes() == b"the previous bundle"
    assert sorted(p.name for p in folder.iterdir()) == ["batch.age"]

    assert export_bundle(many, out, recipients=[key]) == 400  # replaces it when all went well
    assert out.read_bytes().startswith(b"age-encryption.org/v1\n")


def test_passphrase_bundle(tmp_path: Path, reviewer_path: Path,
                           reports: list[dict[str, Any]]) -> None:
    out = tmp_path / "p.age"
    assert export_bundle(reports[:5], out, passphrase="field trip 2026") == 5
    assert path_needs_passphrase(out)
    data = out.read_bytes()
    with pytest.raises(bundles.BundlePassphraseRequiredError) as caught:
        decrypt_bundle(data, name=str(out), identities=[], passphrase=None)
    assert str(caught.value) == (f"{out}: the bundle is passphrase-encrypted: give "
                                 "--bundle-passphrase-file")
    with pytest.raises(bundles.BundleWrongPassphraseError) as caught:
        decrypt_bundle(data, name=str(out), identities=[], passphrase="field trip 2025")
    assert str(caught.value) == f"{out}: wrong bundle passphrase"
    with pytest.raises(BundleError, match="must not be empty"):
        export_bundle(reports, tmp_path / "q.age", passphrase="")

    desk = Desk.open(reviewer_path, PASSPHRASE)
    try:
        summary = desk.import_files([out], bundle_passphrase="field trip 2026")
        assert (summary.added, summary.errors) == (5, [])
    finally:
        desk.lock()


def test_armored_bundles_import(tmp_path: Path, reviewer_path: Path,
                                reports: list[dict[str, Any]]) -> None:
    out = tmp_path / "a.age"
    export_bundle(reports[:9], out, recipients=[_reviewer_key(reviewer_path)], armored=True)
    text = out.read_bytes()
    assert text.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----\n")
    assert not path_needs_passphrase(out)
    mail = tmp_path / "from-mail.age"  # CRLF lines and a blank line before, as mail leaves it
    mail.write_bytes(b"\r\n" + text.replace(b"\n", b"\r\n"))
    desk = Desk.open(reviewer_path, PASSPHRASE)
    try:
        summary = desk.import_files([out, mail])
        assert (summary.added, summary.unchanged, summary.errors) == (9, 9, [])
    finally:
        desk.lock()


# ---- broken bundles: one clear error each, nothing imported -----------------------------------


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory, templates: dict[str, Path],
           reports: list[dict[str, Any]]) -> dict[str, Any]:
    """A good bundle for the reviewer plus every way to break one."""
    root = tmp_path_factory.mktemp("broken")
    key = _reviewer_key(templates["reviewer"])
    good = root / "good.age"
    export_bundle(reports[:12], good, recipients=[key])
    data = good.read_bytes()
    end = read_header(data, "").end
    stranger = x25519.Identity.generate()
    recipient = x25519.Recipient.from_str(key)
    files: dict[str, tuple[bytes, type[Exception], str]] = {}

    def add(name: str, content: bytes, error: type[Exception], message: str) -> None:
        files[name] = (content, error, message)

    truncated, altered = "the bundle is truncated", \
        "the bundle was altered or is damaged (integrity check failed)"
    add("wrong-identity.age", pyrage.encrypt(data[end:], [stranger.to_public()]),
        bundles.BundleWrongIdentityError,
        "this bundle is not addressed to this vault's key (wrong identity)")
    add("cut-in-header.age", data[:end // 2], bundles.BundleTruncatedError, truncated)
    add("cut-after-header.age", data[:end + 10], bundles.BundleTruncatedError, truncated)
    add("cut-in-half.age", data[:len(data) // 2], bundles.BundleTruncatedError, truncated)
    add("cut-in-tag.age", data[:-3], bundles.BundleTruncatedError, truncated)
    payload = bytearray(data)
    payload[(end + len(data)) // 2] ^= 0x01
    add("flipped-payload.age", bytes(payload), bundles.BundleTamperedError, altered)
    last = bytearray(data)
    last[-1] ^= 0x80
    add("flipped-last-byte.age", bytes(last), bundles.BundleTamperedError, altered)
    mac = bytearray(data)
    mac[end - 5] = ord("A") if mac[end - 5] != ord("A") else ord("B")
    add("flipped-mac.age", bytes(mac), bundles.BundleTamperedError, altered)
    add("appended.age", data + b"\x00", bundles.BundleTamperedError, altered)
    add("empty-file.age", b"", bundles.BundleEmptyError, "empty bundle")
    add("empty-bundle.age", pyrage.encrypt(b"", [recipient]), bundles.BundleEmptyError,
        "empty bundle")
    add("not-age.age", orjson.dumps([reports[0]]), bundles.NotABundleError, "not an age bundle")
    # Decrypts fine, but holds no reports: the importer's own clear error.
    customers = orjson.dumps({"object": "list", "data": [{"id": "cus_1", "object": "customer"},
                                                         {"id": "cus_2", "object": "customer"}]})
    add("customers.age", pyrage.encrypt(customers, [recipient]), IdentityDeskError,
        "2 invalid record(s), nothing imported from this file")
    add("prose.age", pyrage.encrypt(b"Dear reviewer,\nhere are the files.\n", [recipient]),
        IdentityDeskError, "not valid JSON")
    add("other-object.age", pyrage.encrypt(b'{"id": "ch_1", "object": "charge"}', [recipient]),
        IdentityDeskError, "holds a 'charge' object, not verification reports")
    for name, (content, _, _) in files.items():
        (root / name).write_bytes(content)
    return {"root": root, "files": files, "good": good}


BROKEN = ["wrong-identity.age", "cut-in-header.age", "cut-after-header.age", "cut-in-half.age",
          "cut-in-tag.age", "flipped-payload.age", "flipped-last-byte.age", "flipped-mac.age",
          "appended.age", "empty-file.age", "empty-bundle.age", "not-age.age", "customers.age",
          "prose.age", "other-object.age"]


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_bundle_is_refused_clearly_and_imports_nothing(
        name: str, broken: dict[str, Any], reviewer_path: Path) -> None:
    # The reviewer vault holds reports already, so "unchanged" means something.
    desk = Desk.open(reviewer_path, PASSPHRASE)
    desk.import_files([broken["good"]])
    identity = vault_identity(desk.vault)
    desk.lock()
    before = digest(reviewer_path)
    path = broken["root"] / name
    content, error, message = broken["files"][name]
    if issubclass(error, BundleError):  # refused by the bundle layer itself
        with pytest.raises(error) as caught:
            decrypt_bundle(content, name=str(path), identities=[identity], passphrase=None)
        assert str(caught.value).startswith(f"{path}: {message}"), str(caught.value)
    desk = Desk.open(reviewer_path, PASSPHRASE)
    try:
        summary = desk.import_files([path])
        assert summary.added + summary.updated == 0 and len(summary.errors) == 1
        assert summary.errors[0].startswith(f"{path}: ") and message in summary.errors[0]
        assert report_count(desk.vault) == 12
    finally:
        desk.lock()
    assert digest(reviewer_path) == before


def test_cli_import_of_broken_bundles_is_one_line_each(broken: dict[str, Any],
                                                      run_cli: Any, vault_path: Path,
                                                      templates: dict[str, Path]) -> None:
    copy_vault(templates["reviewer"], vault_path)
    before = digest(vault_path)
    for name in ("wrong-identity.age", "cut-in-half.age", "flipped-payload.age"):
        path = broken["root"] / name
        result = run_cli("import", str(path))
        line = one_error_line(result)
        assert line == f"identity-desk: error: {path}: {broken['files'][name][2]}"
        assert result.stdout.strip() == "0 added, 0 updated, 0 unchanged, 0 rejected"
    assert digest(vault_path) == before


def test_every_cut_is_truncated_and_every_flip_is_altered(tmp_path: Path) -> None:
    """Across chunk boundaries, inside tags and data: the diagnosis never mixes the two up."""
    me = x25519.Identity.generate()
    many = list(generate_reports(240, seed=8, now=NOW))  # ~4 chunks
    out = tmp_path / "many.age"
    export_bundle(many, out, recipients=[str(me.to_public())])
    data = out.read_bytes()
    end = read_header(data, "").end
    chunks = (len(data) - end - 16 + CHUNK - 1) // CHUNK
    assert chunks >= 3
    rng = random.Random(4)
    cuts = {end + 16 + k * CHUNK + d for k in range(1, chunks) for d in (-17, -16, -9, -1, 0, 1)}
    cuts |= {rng.randrange(end, len(data)) for _ in range(40)} | {len(data) - 1, end + 17}
    for cut in sorted(cuts):
        with pytest.raises(bundles.BundleTruncatedError):
            decrypt_bundle(data[:cut], name="b", identities=[str(me)], passphrase=None)
    flips = {rng.randrange(end, len(data)) for _ in range(60)}
    flips |= {end + 16 + k * CHUNK + d for k in range(1, chunks) for d in (-1, 0)}
    for pos in sorted(flips):
        damaged = bytearray(data)
        damaged[pos] ^= 1 << rng.randrange(8)
        with pytest.raises(bundles.BundleTamperedError):
            decrypt_bundle(bytes(damaged), name="b", identities=[str(me)], passphrase=None)


# ---- no plaintext on disk ---------------------------------------------------------------------


def _sensitive_values(reports: list[dict[str, Any]]) -> set[bytes]:
    keys = {"id", "verification_session", "client_reference_id", "first_name", "last_name",
            "line1", "city", "postal_code", "number", "id_number", "files"}
    # (The vault header stores its salt and id as hex text: a short all-digit value, a postal
    # code, would turn up there by chance and prove nothing.)
    return {value.encode() for value in sensitive_values(reports, keys)
            if not (value.isdigit() and len(value) < 12)}


def test_no_plaintext_in_any_file_after_export_and_import(
        run_cli: Any, tmp_path: Path, templates: dict[str, Path], vault_path: Path,
        reports: list[dict[str, Any]], all_written_files: Callable[[], Iterator[Path]]) -> None:
    admin_path = copy_vault(templates["admin"], tmp_path / "admin" / "vault.idvault")
    copy_vault(templates["reviewer"], vault_path)
    out = tmp_path / "handover" / "batch.age"
    out.parent.mkdir()
    key = run_cli("key", "show").stdout.strip()
    done = run_cli("export", "--out", str(out), "--recipient", key, vault=admin_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"exported {ADMIN_REPORTS} reports to {out}\n"
    done = run_cli("import", str(out))
    assert done.returncode == 0, done.stderr
    with Vault.open(vault_path, PASSPHRASE) as vault:
        assert get_report(vault, reports[0]["id"]) == reports[0]
        assert len(load_summaries(vault)) == ADMIN_REPORTS
        secret = vault_identity(vault).encode()

    needles = _sensitive_values(reports) | {secret}
    assert len(needles) > 300
    files = list(all_written_files())
    assert out in files and vault_path in files and admin_path in files
    assert_no_plaintext(files, needles)
    assert not [p for p in files if p.name.endswith(".part")]


def test_cli_export_usage(run_cli: Any, templates: dict[str, Path], vault_path: Path,
                          tmp_path: Path, reports: list[dict[str, Any]]) -> None:
    copy_vault(templates["admin"], vault_path)
    out = tmp_path / "o.age"
    line = one_error_line(run_cli("export", "--out", str(out)), status=2)
    assert "--recipient" in line and "--bundle-passphrase-file" in line
    bundle_pass = tmp_path / "bundle-pass.txt"
    bundle_pass.write_text("bundle secret\n")
    line = one_error_line(run_cli("export", "--out", str(out), "-r", "age1x",
                                  "--bundle-passphrase-file", str(bundle_pass)), status=2)
    assert "not both" in line
    line = one_error_line(run_cli("export", "--out", str(out), "-r", "age1nope"))
    assert line.endswith("recipient 1 is not an age public key (age1...): 'age1nope'")
    me = x25519.Identity.generate()
    done = run_cli("export", "--out", str(out), "-r", str(me.to_public()), "--id",
                   reports[2]["id"], "--id", reports[1]["id"])
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"exported 2 reports to {out}\n"
    got = _jsonl(pyrage.decrypt(out.read_bytes(), [me]))
    assert got == [reports[2], reports[1]]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
