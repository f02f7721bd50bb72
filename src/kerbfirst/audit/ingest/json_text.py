"""JSON decoding for the readers: orjson first, the standard library when it refuses.

orjson is the faster decoder on the EVTX hot path (figures: README, Performance). It is
stricter (no NaN, no integers past 64 bits, no lone surrogates): such a document is
decoded again by json.loads, so what we accept and the error message a corrupt record
gets are exactly the standard library's.

One thing json.loads accepts cannot be stored: a lone UTF-16 surrogate written as an
escape ("\\ud800"), which no UTF-8 text can hold, so pyarrow refuses the whole batch. Such
characters become U+FFFD here, as undecodable bytes do in the CSV reader: the record is
kept, and one bad character cannot stop an ingest.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

MAX_DEPTH = 64  # an event is two or three levels deep; anything past this is not one


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _valid_text(json.loads(text), 0)


def _valid_text(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        return value
    if isinstance(value, dict):
        return {_valid_text(k, depth + 1): _valid_text(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_valid_text(v, depth + 1) for v in value]
    return value
