"""Memos of the recognizers that must not outlive the batch that filled them.

A recognizer memoises a judgement on a word or a text read ("Is this word unknown to the
dictionaries?"): the key is what a request wrote, often a person's name. Kept for the life of
the process, such memos held the names of past requests (as spaCy's vocabulary did before
``spacy_ops.read_and_forget``). A memo made with ``per_batch`` (a function's ``lru_cache``) or
``BatchMemo`` (a dict an object fills) is emptied by ``forget``, which
``PresidioDetector.detect_batch`` calls when each batch ends, found or failed: the memo still
saves the repeats inside a batch (the same word asked by several passes, for several
requests), and nothing read is kept after it.

Memos keyed only by what douane ships (lexicons, context words, phone regions) are not here.
A library's own memo of what it was asked (islenska's word lookups) is emptied by a function
given to ``also_forget``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
K = TypeVar("K")
V = TypeVar("V")

# the per-batch functions' caches (``functools._lru_cache_wrapper``: cache_clear, cache_info)
MEMOS: list[Any] = []
# the caches kept for the process, of words ``per_batch``'s ``lasting`` accepts
LASTING: list[Any] = []
# functions that empty a library's memos of the words it was asked (``also_forget``)
_LIBRARY_MEMOS: list[Callable[[], None]] = []


class BatchMemo(dict[K, V]):
    """A dict memo of one object, emptied by ``forget`` (held weakly: the object may go)."""

    def __init__(self) -> None:
        super().__init__()
        _DICTS[id(self)] = self


# by id: a dict cannot be hashed
_DICTS: weakref.WeakValueDictionary[int, BatchMemo[Any, Any]] = weakref.WeakValueDictionary()


def per_batch(maxsize: int, lasting: Callable[[str], bool] | None = None) -> Callable[[F], F]:
    """``functools.lru_cache(maxsize)``, emptied by ``forget``. With ``lasting``, a call whose
    first argument (a word) it accepts is memoised for the process instead: a word of a
    dictionary douane ships is not a request's, and is asked again in every batch."""

    def decorate(function: F) -> F:
        cached = lru_cache(maxsize=maxsize)(function)
        MEMOS.append(cached)
        if lasting is None:
            return cached  # type: ignore[return-value]
        kept = lru_cache(maxsize=maxsize)(function)
        LASTING.append(kept)
        accepted = lasting

        @wraps(function)
        def memoised(word: str, *args: Any) -> Any:
            return (kept if accepted(word) else cached)(word, *args)

        return memoised  # type: ignore[return-value]

    return decorate


def also_forget(empty: Callable[[], None]) -> None:
    """Have ``forget`` call ``empty`` too: it empties a library's memo of the words douane
    asked it about (once per function)."""
    if empty not in _LIBRARY_MEMOS:
        _LIBRARY_MEMOS.append(empty)


def forget() -> None:
    """Empty every per-batch memo: what the batch read is no longer held by any of them."""
    for memo in MEMOS:
        memo.cache_clear()
    for held in list(_DICTS.values()):
        held.clear()
    for empty in _LIBRARY_MEMOS:
        empty()
