"""Realm ticket policy as data, as MIT krb5's kdc.conf: policy is data, not code.

The defaults are MIT krb5kdc's (kdc.conf(5): max_life 10h, max_renewable_life 7d,
clockskew 300s) with two kerbfirst choices: pre-authentication is required for every
principal, and only the AES enctypes 17-20 exist (RFC 6649 and RFC 8429 deprecate DES and
RC4).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from kerbfirst.kdc.crossrealm import CrossRealmPolicy

# RFC 3962 and RFC 8009 enctypes in MIT's default preference order (kdc.conf(5)
# supported_enctypes): the SHA-1 ones first because every peer has them.
DEFAULT_ETYPES: tuple[int, ...] = (18, 17, 20, 19)


@dataclasses.dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """MIT kadm5 password policy's lock-out fields (kadmin(1): maxfailure, failcnt_interval,
    lockout_duration). `threshold` 0 disables lock-out; `duration` 0 locks until an
    administrator unlocks (MIT semantics)."""

    threshold: int = 10
    window: timedelta = timedelta(minutes=10)
    duration: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if self.threshold < 0:
            raise ValueError("LockoutPolicy.threshold must be >= 0 (0 disables lock-out)")

    def locked(self, fail_count: int, last_failed: datetime | None, now: datetime) -> bool:
        """MIT lockout.c locked_check: the count has reached the threshold and the last
        failure is less than `duration` ago (duration 0: until an administrator unlocks)."""
        if self.threshold == 0 or fail_count < self.threshold:
            return False
        if last_failed is None or not self.duration:
            return True
        return now < last_failed + self.duration


@dataclasses.dataclass(frozen=True, slots=True)
class KdcPolicy:
    """Everything a realm administrator decides about tickets. Frozen: build a new one to
    change it; the KDC precomputes what it can from it once."""

    realm: str
    max_life: timedelta = timedelta(hours=10)
    max_renewable_life: timedelta = timedelta(days=7)
    clock_skew: timedelta = timedelta(minutes=5)
    require_preauth: bool = True
    supported_etypes: tuple[int, ...] = DEFAULT_ETYPES
    lockout: LockoutPolicy = LockoutPolicy()
    reply_cache_size: int = 4096  # MIT's lookaside cache is bounded the same way
    reply_cache_ttl: timedelta = timedelta(minutes=2)  # MIT: 2 minutes (kdc/replay.c)
    reply_cache_bytes: int = 10 * 1024 * 1024  # MIT: LOOKASIDE_MAX_SIZE (kdc/replay.c)
    allow_forwardable: bool = True
    allow_renewable: bool = True
    allow_proxiable: bool = True
    # referrals and transited paths
    cross_realm: CrossRealmPolicy = dataclasses.field(default_factory=CrossRealmPolicy)

    def __post_init__(self) -> None:
        if not self.realm:
            raise ValueError("KdcPolicy.realm must name the realm, e.g. 'EXAMPLE.TEST'")
        unknown = [e for e in self.supported_etypes if e not in DEFAULT_ETYPES]
        if unknown or not self.supported_etypes:
            raise ValueError(
                f"KdcPolicy.supported_etypes {self.supported_etypes!r}: kerbfirst serves only "
                f"the AES enctypes {DEFAULT_ETYPES} (RFC 3962, RFC 8009); remove {unknown}"
            )
        if self.max_life <= timedelta(0):
            raise ValueError("KdcPolicy.max_life must be positive")
        if self.reply_cache_size < 0:
            raise ValueError("KdcPolicy.reply_cache_size must be >= 0 (0 disables it)")
        if self.reply_cache_bytes < 0:
            raise ValueError("KdcPolicy.reply_cache_bytes must be >= 0 (0 disables it)")
