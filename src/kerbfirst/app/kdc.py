"""A LocalKDC assembled from its realm directory: the store, the policy, the KDC object one
`kdc serve` worker (or an in-process IAKerb route) runs."""

from __future__ import annotations

import os
import sqlite3

from kerbfirst.app.realm_config import RealmConfig
from kerbfirst.kdc.policy import KdcPolicy, LockoutPolicy
from kerbfirst.kdc.service import Kdc
from kerbfirst.store.audit_log import JsonLinesAuditLog
from kerbfirst.store.masterkey import MasterKeyError, load_master_key
from kerbfirst.store.principals import SqlitePrincipalStore, StoreError


class StoreUnavailable(Exception):
    """The realm's principal store cannot be opened; the message says why and what to do."""


def open_store(cfg: RealmConfig) -> SqlitePrincipalStore:
    """The realm's store; callers close it (`with`), so that this process never holds a
    connection it no longer uses."""
    try:
        master = load_master_key(cfg.master_key_path)
        return SqlitePrincipalStore(cfg.db_path, master, realm=cfg.realm)
    except (MasterKeyError, StoreError) as exc:
        raise StoreUnavailable(f"cannot open the principal store {cfg.db_path}: {exc}") from None
    except (sqlite3.Error, OSError) as exc:  # opening writes (WAL, schema): a full disk
        raise StoreUnavailable(
            f"cannot open the principal store {cfg.db_path}: {exc}; nothing was changed. "
            "If its disk is full, free disk space and try again"
        ) from None


def kdc_policy(cfg: RealmConfig) -> KdcPolicy:
    p = cfg.policy
    return KdcPolicy(
        realm=cfg.realm,
        max_life=p.max_life,
        max_renewable_life=p.max_renewable_life,
        clock_skew=p.clock_skew,
        require_preauth=p.require_preauth,
        lockout=LockoutPolicy(
            threshold=p.lockout_threshold, window=p.lockout_window, duration=p.lockout_duration
        ),
        cross_realm=cfg.cross_realm.policy(),
    )


def build_kdc(cfg: RealmConfig, policy: KdcPolicy | None = None) -> Kdc:
    """The KDC one `kdc serve` worker runs (also what bench/kdc_icount.py measures): the
    realm's store, its JSON-lines audit log, the operating system's randomness."""
    audit_log = JsonLinesAuditLog(
        cfg.audit_path, max_size=cfg.audit_max_size, keep=cfg.audit_keep
    )
    return Kdc(
        database=open_store(cfg),
        policy=policy or kdc_policy(cfg),
        random=os.urandom,
        audit=audit_log.write,
    )
