"""Keys held in a PKCS#11 token (a hardware security module, a smart card; SoftHSM2 in tests).

A key created in the token is *sensitive* and *not extractable*: the token signs and encrypts
with it, nobody (douane included) can read it out, and a copy of douane's files holds no
trace of it. Two uses:

* :class:`TokenSigner`: an audit signing key (Ed25519, ``CKM_EDDSA``; SoftHSM2 2.6 supports
  it), one key pair per role, labelled ``douane-audit-worker`` / ``douane-audit-dpo``
  (``DOUANE_AUDIT_SIGNER=pkcs11``);
* :class:`TokenKekStore`: the per-period key-encryption keys (AES-256), labelled
  ``douane-kek/<period id>``; data keys are wrapped and unwrapped inside the token with
  ``CKM_AES_GCM`` (12-byte nonce, the data key's id as associated data, the same format as
  the file store, so a key database can move from one store to the other), and retention
  destroys the token object (``DOUANE_KEK_STORE=pkcs11``).

Which token: ``DOUANE_PKCS11_MODULE`` (the vendor's library, default SoftHSM2's),
``DOUANE_PKCS11_TOKEN`` (its label), and the user PIN from ``DOUANE_PKCS11_PIN_FILE`` (a 0600
file) or ``DOUANE_PKCS11_PIN``. A process opens one session per token and shares it between
its threads, one call at a time (a PKCS#11 session is not to be used by two threads at once).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from streams.adapters.kek_store import KEK_BYTES, KekStoreError
from streams.adapters.signer import key_id_for, make_verifier
from streams.core.audit import VerifyFn
from streams.core.key_periods import KeyPeriod, parse_period_id
from streams.errors import DouaneError

DEFAULT_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")  # Debian's softhsm2 package
ED25519_OID = "1.3.101.112"
KEK_LABEL_PREFIX = "douane-kek/"
_T = TypeVar("_T")


class TokenError(DouaneError, RuntimeError):
    """The PKCS#11 token cannot be used: the message names the module, token or key."""


@dataclass(frozen=True)
class TokenConfig:
    module: Path
    token_label: str
    pin: str = ""

    def __repr__(self) -> str:  # never the PIN
        return f"TokenConfig(module={self.module}, token_label={self.token_label!r})"


def token_config(env: dict[str, str] | None = None) -> TokenConfig:
    """The token named by ``DOUANE_PKCS11_*``; the PIN is read here, never kept in settings."""
    source = os.environ if env is None else env
    pin_file = source.get("DOUANE_PKCS11_PIN_FILE")
    if pin_file:
        try:
            pin = Path(pin_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise TokenError(f"DOUANE_PKCS11_PIN_FILE={pin_file}: {error.strerror}") from None
    else:
        pin = source.get("DOUANE_PKCS11_PIN", "")
    if not pin:
        raise TokenError("a PKCS#11 token is configured but no PIN: set DOUANE_PKCS11_PIN_FILE "
                         "(a 0600 file holding the user PIN) or DOUANE_PKCS11_PIN")
    return TokenConfig(Path(source.get("DOUANE_PKCS11_MODULE") or DEFAULT_MODULE),
                       source.get("DOUANE_PKCS11_TOKEN") or "douane", pin)


class Token:
    """One logged-in read-write session on one token, shared by the process's threads."""

    def __init__(self, config: TokenConfig) -> None:
        import pkcs11  # imported here: only installations that use a token need the library

        if not config.module.exists():
            raise TokenError(f"PKCS#11 module {config.module} not found (DOUANE_PKCS11_MODULE;"
                             " for SoftHSM2: apt-get install softhsm2)")
        self.config = config
        self._lock = threading.RLock()
        try:
            library = pkcs11.lib(str(config.module))
            token = library.get_token(token_label=config.token_label)
            self._session = token.open(user_pin=config.pin, rw=True)
        except pkcs11.exceptions.NoSuchToken:
            raise TokenError(f"no token labelled {config.token_label!r} in {config.module} "
                             "(DOUANE_PKCS11_TOKEN)") from None
        except pkcs11.exceptions.PKCS11Error as error:
            raise TokenError(f"token {config.token_label!r} in {config.module}: "
                             f"{type(error).__name__}") from None

    def run(self, action: Callable[[Any], _T]) -> _T:
        """``action(session)`` under the token's lock; token errors become TokenError."""
        import pkcs11

        with self._lock:
            try:
                return action(self._session)
            except pkcs11.exceptions.PKCS11Error as error:
                raise TokenError(f"token {self.config.token_label!r}: "
                                 f"{type(error).__name__}") from None


_tokens: dict[tuple[Path, str], Token] = {}
_tokens_lock = threading.Lock()


def open_token(config: TokenConfig) -> Token:
    """The process's session on ``config``'s token (a module is initialised once a process)."""
    with _tokens_lock:
        key = (config.module, config.token_label)
        if key not in _tokens:
            _tokens[key] = Token(config)
        return _tokens[key]


# ---------------------------------------------------------------------------- signing


def _ed25519_public(point: bytes) -> Ed25519PublicKey:
    """CKA_EC_POINT of an Ed25519 key: the 32 raw bytes, DER-wrapped in an OCTET STRING."""
    raw = point[2:] if len(point) == 34 and point[:2] == b"\x04\x20" else point
    return Ed25519PublicKey.from_public_bytes(raw)


class TokenSigner:
    """An Ed25519 audit signing key that never leaves the token (``CKM_EDDSA``)."""

    def __init__(self, token: Token, label: str) -> None:
        self.token, self.label = token, label
        self._private, public = token.run(lambda session: self._find_or_generate(session))
        self.public_key = _ed25519_public(public)
        self.key_id = key_id_for(self.public_key)

    def _find_or_generate(self, session: Any) -> tuple[Any, bytes]:
        from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
        from pkcs11.util.ec import encode_named_curve_parameters

        found = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                                          Attribute.LABEL: self.label}))
        if len(found) > 1:
            raise TokenError(f"{len(found)} private keys labelled {self.label!r} in the token: "
                             "remove all but the log's active one")
        if found:
            [public] = list(session.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY,
                                                 Attribute.LABEL: self.label}))
            return found[0], bytes(public[Attribute.EC_POINT])
        public, private = session.generate_keypair(
            KeyType.EC_EDWARDS, mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN, store=True,
            label=self.label,
            public_template={Attribute.EC_PARAMS: encode_named_curve_parameters(ED25519_OID)},
            private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False})
        return private, bytes(public[Attribute.EC_POINT])

    def sign(self, message: bytes) -> bytes:
        from pkcs11 import Mechanism

        signature: bytes = self.token.run(
            lambda _session: self._private.sign(message, mechanism=Mechanism.EDDSA))
        return signature

    def verifier(self) -> VerifyFn:
        return make_verifier(self.public_key)

    def public_key_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def signer_label(role: str) -> str:
    return f"douane-audit-{role}"


def next_signer(token: Token, role: str) -> tuple[TokenSigner, Callable[[], None]]:
    """For a rotation: a new key pair in the token (labelled ``<label>.next``), and the step
    that, once the log has recorded the rotation, destroys the old pair and gives the new one
    the role's label. (Interrupted in between, the log expects the ``.next`` key: douane then
    refuses to sign with the old one, and running the step again completes it.)"""
    label = signer_label(role)
    staged = TokenSigner(token, label + ".next")

    def put_in_place() -> None:
        from pkcs11 import Attribute, ObjectClass

        def swap(session: Any) -> None:
            for cls in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY):
                for old in list(session.get_objects({Attribute.CLASS: cls,
                                                     Attribute.LABEL: label})):
                    old.destroy()
                for new in list(session.get_objects({Attribute.CLASS: cls,
                                                     Attribute.LABEL: label + ".next"})):
                    new[Attribute.LABEL] = label

        token.run(swap)
        staged.label = label

    return staged, put_in_place


# ---------------------------------------------------------------------------- KEKs


class TokenKekStore:
    """Per-period AES-256 KEKs created inside the token; wrapping happens there too.

    Creation of a period's KEK is not atomic across processes by itself; the key store calls
    :meth:`wrap` inside its database's write transaction, which serialises it.
    """

    def __init__(self, token: Token) -> None:
        self.token = token

    @staticmethod
    def _label(period_id: str) -> str:
        parse_period_id(period_id)
        return KEK_LABEL_PREFIX + period_id

    def _keys(self, session: Any, period_id: str) -> list[Any]:
        from pkcs11 import Attribute, ObjectClass

        return list(session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY,
                                         Attribute.LABEL: self._label(period_id)}))

    def _key(self, session: Any, period_id: str) -> Any | None:
        keys = self._keys(session, period_id)
        if len(keys) > 1:
            raise KekStoreError(f"{len(keys)} KEKs labelled {self._label(period_id)!r} in the "
                                "token: token damaged")
        return keys[0] if keys else None

    @staticmethod
    def _template() -> dict[Any, Any]:
        from pkcs11 import Attribute

        return {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False,
                Attribute.ENCRYPT: True, Attribute.DECRYPT: True, Attribute.TOKEN: True}

    def wrap(self, period: KeyPeriod, key_id: str, data_key: bytes) -> tuple[bytes, bytes]:
        from pkcs11 import KeyType, Mechanism
        from pkcs11.mechanisms import GCMParams

        nonce = os.urandom(12)

        def wrap_in_token(session: Any) -> bytes:
            key = self._key(session, period.period_id)
            if key is None:
                key = session.generate_key(KeyType.AES, KEK_BYTES * 8, store=True,
                                           label=self._label(period.period_id),
                                           template=self._template())
            wrapped: bytes = key.encrypt(data_key, mechanism=Mechanism.AES_GCM,
                                         mechanism_param=GCMParams(nonce, key_id.encode()))
            return wrapped

        return nonce, self.token.run(wrap_in_token)

    def unwrap(self, period_id: str, key_id: str, nonce: bytes, wrapped: bytes) -> bytes | None:
        import pkcs11
        from pkcs11 import Mechanism
        from pkcs11.mechanisms import GCMParams

        def unwrap_in_token(session: Any) -> bytes | None:
            key = self._key(session, period_id)
            if key is None:
                return None
            try:
                data_key: bytes = key.decrypt(wrapped, mechanism=Mechanism.AES_GCM,
                                              mechanism_param=GCMParams(nonce, key_id.encode()))
            except pkcs11.exceptions.PKCS11Error:
                raise KekStoreError(f"data key {key_id} does not unwrap: key store "
                                    "damaged") from None
            return data_key

        return self.token.run(unwrap_in_token)

    def period_ids(self) -> set[str]:
        from pkcs11 import Attribute, ObjectClass

        def labels(session: Any) -> set[str]:
            found = set()
            for key in session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY}):
                label = str(key[Attribute.LABEL])
                if label.startswith(KEK_LABEL_PREFIX):
                    found.add(label.removeprefix(KEK_LABEL_PREFIX))
            return found

        return self.token.run(labels)

    def destroy(self, period_id: str) -> bool:
        def destroy_in_token(session: Any) -> bool:
            keys = self._keys(session, period_id)
            for key in keys:
                key.destroy()
            return bool(keys)

        return self.token.run(destroy_in_token)

    def adopt(self, period_id: str, kek: bytes) -> None:
        """Import a KEK from an older key database as a sensitive, non-extractable token key
        (if the period has one already, it must be the same key: checked by a probe)."""
        from pkcs11 import Attribute, KeyType, ObjectClass

        if len(kek) != KEK_BYTES:
            raise KekStoreError(f"KEK of period {period_id} is {len(kek)} bytes, not "
                                f"{KEK_BYTES}: key database damaged")

        def adopt_in_token(session: Any) -> None:
            if self._key(session, period_id) is None:
                session.create_object({Attribute.CLASS: ObjectClass.SECRET_KEY,
                                       Attribute.KEY_TYPE: KeyType.AES, Attribute.VALUE: kek,
                                       Attribute.LABEL: self._label(period_id),
                                       **self._template()})

        self.token.run(adopt_in_token)
        nonce, probe = os.urandom(12), os.urandom(KEK_BYTES)
        wrapped = AESGCM(kek).encrypt(nonce, probe, b"adopt-probe")
        if self.unwrap_probe(period_id, nonce, wrapped) != probe:
            raise KekStoreError(f"period {period_id} already has a different KEK in the "
                                "token: refusing to migrate over it")

    def unwrap_probe(self, period_id: str, nonce: bytes, wrapped: bytes) -> bytes | None:
        try:
            return self.unwrap(period_id, "adopt-probe", nonce, wrapped)
        except KekStoreError:
            return None

    def describe(self) -> str:
        return f"PKCS#11 token {self.token.config.token_label!r}"

    def close(self) -> None:
        return None  # the session is the process's, shared with the signer


def token_keys(token: Token) -> list[dict[str, Any]]:
    """Label and protection of each secret and private key in the token (for checks)."""
    from pkcs11 import Attribute, ObjectClass

    def listing(session: Any) -> list[dict[str, Any]]:
        found = []
        for cls in (ObjectClass.SECRET_KEY, ObjectClass.PRIVATE_KEY):
            for key in session.get_objects({Attribute.CLASS: cls}):
                found.append({"label": key[Attribute.LABEL],
                              "sensitive": bool(key[Attribute.SENSITIVE]),
                              "extractable": bool(key[Attribute.EXTRACTABLE])})
        return found

    return token.run(listing)
