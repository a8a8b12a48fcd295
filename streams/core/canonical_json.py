"""RFC 8785 (JCS) canonical JSON, fast for the JSON douane writes, exact for anything else.

Audit records hold str keys and str/int/bool/None/list/dict values. For those, JCS output is
exactly what the standard library's C encoder writes with sorted keys, no spaces and UTF-8
(``ensure_ascii=False``): strings escape only ``"``, ``\\`` and control characters, with the
same short forms and lowercase ``\\u00xx``; integers within 2**53 print as integers. The two
differ only for floats (JCS uses ECMAScript number formatting) and for keys beyond U+D7FF
(JCS sorts by UTF-16 code units, Python by code points), so anything holding those goes to the
reference implementation, ``rfc8785``. A property test checks both agree
(``tests/unit/test_canonical_json.py``).
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from streams.errors import DouaneError

_INT_LIMIT = 2**53 - 1
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                            allow_nan=False, check_circular=False)


class CanonicalJsonError(DouaneError, ValueError):
    """A value JCS cannot represent (never quotes the value)."""


def _fast_path_fits(value: Any) -> bool:
    """True if ``value`` holds only types for which the C encoder's output is JCS."""
    stack = [value]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if not -_INT_LIMIT <= item <= _INT_LIMIT:
                return False
        elif kind is dict:
            for key, inner in item.items():
                if type(key) is not str or (not key.isascii() and max(key) > "\ud7ff"):
                    return False
                push(inner)
            if len(stack) > 100_000:
                return False
        elif kind is list:
            extend(item)
        else:
            return False  # floats, tuples, subclasses, anything else: the reference implementation
    return True


def _no_default(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON")


# The C encoder made once (JSONEncoder.encode makes one per call): sorted keys, no spaces,
# UTF-8 text, no NaN, no circular-reference bookkeeping.
_MAKE_C_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODER: Any = (_MAKE_C_ENCODER(None, _no_default, json.encoder.encode_basestring, None,
                                   ":", ",", True, False, False)
                   if _MAKE_C_ENCODER is not None else None)


def encode_plain(value: Any) -> bytes:
    """The C encoder's UTF-8 output, which is RFC 8785 when ``value`` holds only what
    ``_fast_path_fits`` accepts (the caller checked); UnicodeEncodeError on a lone surrogate."""
    if _C_ENCODER is None:  # a Python built without the accelerator
        return _ENCODER.encode(value).encode("utf-8")
    return "".join(_C_ENCODER(value, 0)).encode("utf-8")


def dumps(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``value``."""
    if _fast_path_fits(value):
        try:
            return encode_plain(value)
        except UnicodeEncodeError:  # a lone surrogate: let the reference implementation judge
            pass
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, RecursionError) as error:
        raise CanonicalJsonError(f"not canonicalisable JSON ({type(error).__name__})") from None
