"""A LocalKDC account's NTLM credential follows its password: when the password is set
(`kerbfirst principal add`, `principal rekey`, `policy credential set`) while a live
exception of the NTLM policy names the account, its NT hash is kept, sealed
(store/nt_hashes.py); when it is set while none does, any hash of the old password is
destroyed. The one place the principal commands and the policy command do this.

The NTLM policy is the file given (`--ntlm-policy`), else `ntlm-policy.toml` in the realm
directory when there is one; the NTLM domain of an account is the realm's first label
(LOCAL for LOCAL.TEST), as `policy credential set` names it by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kerbfirst.app.realm_config import RealmConfig
from kerbfirst.gss.ntlm_crypto import nt_hash
from kerbfirst.krb.names import parse_name
from kerbfirst.policy import ExceptionEntry, Policy, PolicyError
from kerbfirst.store.masterkey import MasterKeyError, load_master_key
from kerbfirst.store.nt_hashes import NtHashStore, naming_exception
from kerbfirst.store.ntlm_policy_file import load_policy_file

CREDENTIALS_FILE = "ntlm-credentials.db"
POLICY_FILE = "ntlm-policy.toml"


class NtlmCredentialError(Exception):
    """The NTLM policy or the credential store cannot be used; says which and why."""


@dataclass(frozen=True)
class CredentialChange:
    account: str  # DOMAIN\\user
    kept_until: ExceptionEntry | None  # the exception the new hash lives under
    destroyed: bool  # an old hash was destroyed (no exception names the account now)

    def describe(self) -> str | None:
        if self.kept_until is not None:
            e = self.kept_until
            return (f"NTLM credential of {self.account} kept until {e.id} ends on "
                    f"{e.expires.isoformat()}")
        if self.destroyed:
            return (f"NTLM credential of {self.account} destroyed: no live exception names "
                    "it, and it held the old password")
        return None


def default_domain(cfg: RealmConfig) -> str:
    return cfg.realm.split(".", 1)[0].upper()


def account_of(principal: str, cfg: RealmConfig) -> str | None:
    """The NTLM account of a principal: a one-component user of the realm, else None
    (services and other realms have no NTLM credential)."""
    name = parse_name(principal, default_realm=cfg.realm)
    if name.realm != cfg.realm or len(name.components) != 1:
        return None
    return name.components[0]


def ntlm_policy(cfg: RealmConfig, path: Path | None) -> Policy | None:
    """The policy that decides (see the module text), or None when there is none;
    NtlmCredentialError when a given or present file cannot be used."""
    chosen = path if path is not None else cfg.directory / POLICY_FILE
    if path is None and not chosen.exists():
        return None
    try:
        return load_policy_file(chosen)
    except PolicyError as exc:
        raise NtlmCredentialError(f"NTLM policy {chosen}: {exc}") from None


def password_set(cfg: RealmConfig, account: str, password: str, policy: Policy | None,
                 now: datetime, *, domain: str | None = None) -> CredentialChange:
    """The password of `account` was just set: keep its NT hash under the exception that
    names it, or destroy the hash of its old password."""
    dom = (domain or default_domain(cfg)).upper()
    path = cfg.directory / CREDENTIALS_FILE
    entry = naming_exception(policy, account, dom, now) if policy is not None else None
    if entry is None and not path.exists():
        return CredentialChange(f"{dom}\\{account}", None, False)
    try:
        master = load_master_key(cfg.master_key_path)
    except MasterKeyError as exc:
        raise NtlmCredentialError(str(exc)) from None
    store = NtHashStore(path, master)
    try:
        if entry is not None and policy is not None:
            store.set_password(account, dom, nt_hash(password), policy, now)
            return CredentialChange(f"{dom}\\{account}", entry, False)
        return CredentialChange(f"{dom}\\{account}", None, store.forget(account, dom))
    finally:
        store.close()


__all__ = ["CredentialChange", "NtlmCredentialError", "account_of", "default_domain",
           "ntlm_policy", "password_set"]
