"""Keys held in a PKCS#11 token (issue 12, items 4 and 5), on SoftHSM2 from Debian's packages
(``make test`` installs it as root; without it these tests are skipped, saying why).

The audit log signs with Ed25519 key pairs created in the token (one per role) and verifies;
the period keys are AES keys created in the token, which wraps and unwraps the data keys; no
key can be read out of the token; a retention run destroys the period's key there, so a backup
of the key database unwraps nothing; an older key database gives its KEKs to the token."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog
from test_kek_apart import backup_of, bytes_on_disk, write_legacy_database

from streams.adapters.key_store import KeyStore
from streams.adapters.pkcs11_keys import (
    DEFAULT_MODULE,
    TokenKekStore,
    open_token,
    token_config,
    token_keys,
)
from streams.cli import main
from streams.cli.audit import run_verify
from streams.config import Settings, load_settings
from streams.core.audit import AuditEvent
from streams.core.key_periods import period_for
from streams.core.keyring import DPO, WORKER
from streams.services.audit_log import open_writer
from streams.services.stores import keys_path, open_stores

HOUR = 3_600
T0 = 1_764_000_000.0
PIN = "4321"


def _softhsm_missing() -> str | None:
    try:
        import pkcs11  # noqa: F401
    except ImportError:
        return "python-pkcs11 is not installed (a dependency of douane: pip install -e .)"
    if not DEFAULT_MODULE.exists() or shutil.which("softhsm2-util") is None:
        return ("SoftHSM2 is not installed (Debian: apt-get install softhsm2; `make test` "
                "installs it when run as root)")
    return None


pytestmark = pytest.mark.skipif(_softhsm_missing() is not None,
                                reason=_softhsm_missing() or "")


@pytest.fixture(scope="module")
def token_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A fresh SoftHSM2 token for this module (the library reads its configuration once per
    process, so every test here shares it and uses its own labels)."""
    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
    before = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    label = f"douane-test-{os.getpid()}"
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", PIN,
                    "--so-pin", "87654321"], check=True, capture_output=True)
    pin_file = folder / "pin"
    pin_file.write_text(PIN + "\n")
    yield {"DOUANE_PKCS11_MODULE": str(DEFAULT_MODULE), "DOUANE_PKCS11_TOKEN": label,
           "DOUANE_PKCS11_PIN_FILE": str(pin_file)}
    if before is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = before


@pytest.fixture
def token_settings(tmp_path: Path, token_env: dict[str, str],
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    env = {"DOUANE_HOME": str(tmp_path / "home"), "DOUANE_AUDIT_SIGNER": "pkcs11",
           "DOUANE_KEK_STORE": "pkcs11", **token_env}
    for name, value in env.items():  # for the commands run through `main`
        monkeypatch.setenv(name, value)
    yield load_settings(env)
    structlog.reset_defaults()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def test_the_audit_log_signs_in_the_token_and_verifies(token_settings: Settings) -> None:
    with open_writer(token_settings, WORKER) as worker:
        worker.append(AuditEvent("r-1/blocked", "blocked", "r-1", "city-of-lyon",
                                 datetime.now(UTC), {"decision": "block"}))
        worker.issue_checkpoint()
    with open_writer(token_settings, DPO) as dpo:
        dpo.append(AuditEvent("hold/1", "hold_placed", None, "city-of-lyon", datetime.now(UTC),
                              {"hold_id": "h1", "subject_fingerprint": None, "reason": "case 1"}))
    assert run_verify(token_settings) == 0
    # no private key file anywhere: the keys are in the token, and cannot be read out of it
    assert not token_settings.signing_key.exists()
    assert not token_settings.dpo_signing_key.exists()
    signers = [k for k in token_keys(open_token(token_config()))
               if str(k["label"]).startswith("douane-audit-")]
    assert sorted(k["label"] for k in signers) == ["douane-audit-dpo", "douane-audit-worker"]
    assert all(k["sensitive"] and not k["extractable"] for k in signers)


def test_a_retention_run_destroys_the_period_key_in_the_token(
        token_settings: Settings, tmp_path: Path) -> None:
    clock = Clock()
    with open_stores(token_settings, clock) as (keys, _vault):
        assert isinstance(keys.keks, TokenKekStore)
        key = keys.data_key("lyon", "subject-a", retention_s=HOUR)
        assert keys.unwrap(key.key_id) == key.key
        backup = backup_of(keys_path(token_settings), tmp_path / "backup.sqlite3")
        period = period_for(T0, HOUR).period_id
        assert period in keys.keks.period_ids()
        clock.now = period_for(T0, HOUR).expires_at
        assert keys.destroy_expired().keks == (period,)
        assert period not in keys.keks.period_ids()
    restored = KeyStore(backup, TokenKekStore(open_token(token_config())), clock)
    try:
        assert restored.live_key_ids() == {key.key_id}
        assert restored.unwrap(key.key_id) is None
    finally:
        restored.close()
    assert not Path(token_settings.keys_dir / "kek").exists()  # nothing written beside


def test_an_older_key_database_gives_its_keks_to_the_token(
        token_settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "legacy.sqlite3"
    period = period_for(T0 + 7 * HOUR, HOUR)  # a period no other test here uses
    kek, data_key, key_id = os.urandom(32), os.urandom(32), "l" * 32
    write_legacy_database(path, period, kek, key_id, data_key, "s")
    keks = TokenKekStore(open_token(token_config()))
    store = KeyStore(path, keks, Clock())
    try:
        assert store.unwrap(key_id) == data_key
        assert kek not in bytes_on_disk(path)
        adopted = [k for k in token_keys(keks.token)
                   if k["label"] == f"douane-kek/{period.period_id}"]
        assert adopted == [{"label": f"douane-kek/{period.period_id}", "sensitive": True,
                            "extractable": False}]
    finally:
        store.close()
        keks.destroy(period.period_id)


def test_rotating_a_key_in_the_token(token_settings: Settings,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    def blocked(request_id: str) -> AuditEvent:
        return AuditEvent(f"{request_id}/blocked", "blocked", request_id, "city-of-lyon",
                          datetime.now(UTC), {"decision": "block"})

    with open_writer(token_settings, WORKER) as worker:
        worker.append(blocked("r-1"))
        before = worker.signer.key_id
    assert main(["audit", "rotate-key"]) == 0
    assert f"worker key {before} (in the token) retired" in capsys.readouterr().out
    with open_writer(token_settings, WORKER) as worker:
        assert worker.signer.key_id != before
        worker.append(blocked("r-2"))
    assert run_verify(token_settings) == 0
    labels = [k["label"] for k in token_keys(open_token(token_config()))]
    assert labels.count("douane-audit-worker") == 1  # the old private key is gone
    assert "douane-audit-worker.next" not in labels
