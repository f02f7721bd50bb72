"""The register's TOML writer: whatever text an administrator types (quotes, backslashes,
newlines, TOML syntax, any Unicode) reads back as the same policy; nothing typed into a
field can inject a second exception or change another field."""

from __future__ import annotations

import tomllib
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from kerbfirst.policy import ExceptionEntry, Mode, Policy
from kerbfirst.policy.register import to_toml

text = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=40).filter(
    lambda s: s.strip() == s and s.strip() != "")


@settings(max_examples=200, deadline=None)
@given(target=text, owner=text, reason=text, control=text, client=st.none() | text,
       user=st.none() | text, servers=st.lists(text, max_size=3))
def test_to_toml_round_trips(target: str, owner: str, reason: str, control: str,
                             client: str | None, user: str | None,
                             servers: list[str]) -> None:
    entry = ExceptionEntry("EX-1", target, owner, date(2027, 1, 31), reason, control,
                           client, user)
    policy = Policy(Mode.ENFORCE, block_estate=not servers, block_servers=tuple(servers),
                    exceptions=(entry,), max_exception_days=90)
    again = Policy.from_dict(tomllib.loads(to_toml(policy)))
    assert again == policy


def test_injection_attempt_stays_in_its_field() -> None:
    evil = 'x"\n[[exception]]\nid = "EX-EVIL"\ntarget = "*'
    entry = ExceptionEntry("EX-1", "web", "o", date(2027, 1, 31), evil, "c")
    again = Policy.from_dict(tomllib.loads(to_toml(Policy(Mode.ENFORCE, True,
                                                          exceptions=(entry,)))))
    assert [e.id for e in again.exceptions] == ["EX-1"]
    assert again.exceptions[0].reason == evil
