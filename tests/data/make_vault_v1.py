"""Make the frozen format-v1 vault ``vault-v1.idvault`` and its plaintext twin
``vault-v1.reports.jsonl`` (run once, from the repository root, when v1 was current; the files
are committed and must never be regenerated: they stand for vaults users already have).

    python tests/data/make_vault_v1.py
"""

from __future__ import annotations

from pathlib import Path

import orjson

from identity_desktop.bundles import ensure_vault_identity
from identity_desktop.demo import generate_reports
from identity_desktop.vault import Vault
from identity_desktop.vault.reports import iter_reports, redact_session_locally, upsert_reports

HERE = Path(__file__).resolve().parent
PASSPHRASE = "identity desk frozen v1"


def main() -> None:
    reports = list(generate_reports(20, seed=2026, now=1_767_225_600))  # 2026-01-01 UTC
    vault = Vault.create(HERE / "vault-v1.idvault", PASSPHRASE)  # default Argon2id cost
    try:
        ensure_vault_identity(vault)  # as 'identity-desk init' does
        upsert_reports(vault, reports)
        redact_session_locally(vault, reports[3]["verification_session"])
        vault.set_json("frozen-fixture", {"format": 1, "reports": len(reports)})
        (HERE / "vault-v1.reports.jsonl").write_bytes(
            b"".join(orjson.dumps(r) + b"\n" for r in iter_reports(vault)))
    finally:
        vault.lock()


if __name__ == "__main__":
    main()
