"""A ticket and what the client needs to use it (MIT's krb5_creds)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from kerbfirst.crypto import Key
from kerbfirst.krb.names import unparse_principal
from kerbfirst.wire.krb5 import PrincipalName, Ticket


@dataclasses.dataclass(frozen=True, slots=True)
class Credential:
    client: PrincipalName
    crealm: str
    server: PrincipalName
    srealm: str
    session_key: Key = dataclasses.field(repr=False)
    ticket: Ticket = dataclasses.field(repr=False)
    ticket_bytes: bytes = dataclasses.field(repr=False)  # exactly as the KDC sent it
    flags: int
    authtime: datetime
    starttime: datetime | None
    endtime: datetime
    renew_till: datetime | None

    @property
    def client_principal(self) -> str:
        return unparse_principal(self.client, self.crealm)

    @property
    def server_principal(self) -> str:
        return unparse_principal(self.server, self.srealm)
