"""What every douane recognizer shares: a pattern proposes, a validator decides, context words
in the message's language raise the score.

Each recognizer is a Presidio ``LocalRecognizer`` (so it also works inside a stock
``AnalyzerEngine``), but it scores context itself: Presidio's context enhancer needs spaCy's
lemmatizer, which douane does not run (only the NER component is loaded, for speed), and it
knows context words for one language per recognizer. Here a recognizer carries context words
for every language douane speaks and looks for them on the raw text near the match.

**Runaway regular expressions.** A pathological input (catastrophic backtracking) must raise
``TimeoutError``, which the detector turns into a blocked request (fail closed), instead of
stalling a worker. RE2 (linear time, no limit needed) was not used: the patterns rely on
look-behind and look-ahead, which RE2 does not have. How a search is held to its CPU limit is
decided once per process, by the ``RegexGuard`` in use (``regex_guard()``); every recognizer's
work on one text goes through it (``RegexGuard.recognizer_pass``, from ``analyze``):

- ``SearchTimeouts`` (the default: a worker detecting in a thread, tests, ``douane bench``):
  every search carries ``timeout=`` and runs in ``within_cpu_limit``, a limit of
  ``REGEX_TIMEOUT_S`` of the *thread's* CPU time per search. The ``regex`` module's own
  ``timeout`` reads ``clock()``, the whole process's CPU time, which runs on while this thread
  waits (the worker's other threads use it); on a busy worker it fired on ordinary text and
  blocked legitimate requests. So its timeout only bounds each attempt, and an attempt cut
  short while the thread got less CPU than the limit is run again. The price: the engine reads
  ``clock()`` (a system call) at every match attempt and every 256 steps, 0.3-0.9 ms of CPU
  per prompt (docs/benchmarks.md, branch ``cputimer``).
- ``CpuTimer`` (a detection process, ``DOUANE_DETECTION_PROCESSES`` >= 1: ``use_cpu_timer()``
  at its start): a CPU-time interval timer on the process (``ITIMER_PROF``: user *and* system
  time, as ``thread_time`` counts, so that a runaway search paging in memory is counted too)
  is armed around each recognizer's work on one text, and its searches run without
  ``timeout=``: no clock is read while matching. The ``regex`` engine polls Python's signal
  handlers at every match attempt and every 256 steps, with or without a timeout; when the
  timer runs out, the handler raises ``TimeoutError`` there (or in the recognizer's Python
  code). The limit of a pass is ``pass_cpu_limit``: ``REGEX_TIMEOUT_S`` plus an allowance for
  the ordinary work on a text of that length, so a runaway search on an ordinary prompt is
  stopped after about the same CPU as before. Signals reach only a process's *main thread*:
  this guard is installed only there, and a pass in any other thread of that process keeps
  its searches' timeouts. The timer is disarmed in ``finally`` and its handler raises only
  while its pass is armed and its own timer has run out, so it can never fire in unrelated
  code; an exception the pass swallowed is raised again when the pass ends.

What a search passes as ``timeout=`` (``SearchLimits.search_timeout_s``) is read per thread:
None only in the thread whose pass the timer holds.

**The steps after the recognizers** (a name's neighbours and later mentions:
``repeated_names``, ``consistent_names``) read the findings of every recognizer, and a prompt
made of names makes them many: quadratic steps there once held a detection process for
minutes, outside every recognizer's guard. They run under ``RegexGuard.bounded``: a CPU limit
per request of ``steps_cpu_limit`` (0.25 s plus 40 us per character of its messages), held by
the same timer in a detection process's main thread, and elsewhere by a budget of the
thread's CPU that their loops read (``checkpoint()``, once per finding or occurrence they
handle). Over it, ``StepsOverCpuLimit``: the detector fails and the request is blocked
(``detector-failed``), never sent with the findings made so far.

**The model stages** (spaCy's NER, and after the recognizers the opt-in tiers: the vote, the
trained web NER, CoreNLP's client) run under ``RegexGuard.bounded`` too, with
``models_cpu_limit`` per request (0.25 s plus 250 us per character of its messages, each
stage): over it, ``ModelsOverCpuLimit``. In a detection process the timer may then raise
inside the NER: the blocks an exception half-way would leave broken (spaCy's memory zone
entered or left, CoreNLP's exchange with its sidecar) are ``shielded`` and end first, the
error raised at the next ``checkpoint()``. In a thread the budget is read once per text the
NER reads (``spacy_ops.read_and_forget``): one long text is read to its end (then only the
batch's wall-clock limit holds it).
"""

from __future__ import annotations

import re
import signal
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from types import CodeType, FrameType
from typing import Any, ClassVar, Protocol, TypeVar

import regex
from presidio_analyzer import LocalRecognizer, RecognizerResult

from streams.adapters.re_syntax import RE_SYNTAX
from streams.adapters.recognizers.batch_memos import per_batch
from streams.errors import DouaneError

REGEX_TIMEOUT_S = 0.25  # CPU seconds one search may use (see the module's docstring)
# Under ``CpuTimer``, the CPU a recognizer's pass over one text may use on top of
# ``REGEX_TIMEOUT_S``, per character of the text: ordinary work on a long text must not be cut
# (see ``pass_cpu_limit``)
PASS_CPU_PER_CHAR_S = 20e-6
# The CPU the steps after the recognizers (``repeated_names``, ``consistent_names``: a name's
# neighbours and later mentions) may use on one request: this much, plus ``STEPS_CPU_PER_CHAR_S``
# per character of its messages (``steps_cpu_limit``). Those steps are linear or n log n in
# the text; a prompt made of names ("Anna, " to 262,144 characters, 43,691 persons) cost them
# 11-12 us per character at load average 10-12 (docs/benchmarks.md, branch ``postguard``):
# three times that is left, so that a long list of names is not blocked on a busy machine, and
# beyond it a step grown worse than linear is stopped and the request blocked (fail closed)
STEPS_CPU_BASE_S = 0.25
STEPS_CPU_PER_CHAR_S = 40e-6
# The CPU the model stages (spaCy's NER, then the opt-in tiers: the vote, CoreNLP's client, the
# trained web NER) may use on one request: this much, plus ``MODELS_CPU_PER_CHAR_S`` per
# character of its messages, each stage (``models_cpu_limit``). The NER costs about the same
# per token whatever the text (50-90 us), and a text of one token per character ("A-A-A-...",
# 80 us per character at load average 6-9) is the most it can read per character: three times
# that is left (docs/benchmarks.md, branch ``nerlimit``), so that no input read in linear time
# is blocked, and a model stage grown worse than linear frees its detection process (66 s at
# the longest message accepted) instead of holding it
MODELS_CPU_BASE_S = 0.25
MODELS_CPU_PER_CHAR_S = 250e-6
# How often the cooperative budget (``bounded`` in a thread no signal reaches) reads the
# thread's CPU clock: every this many ``checkpoint()`` calls (a read costs about 1 us)
CHECKPOINT_EVERY = 16
T = TypeVar("T")
CONTEXT_BEFORE = 60  # characters before a match searched for context words
CONTEXT_AFTER = 30

# The metadata keys Presidio's AnalyzerEngine reads (kept as literals: they are part of its API)
RECOGNIZER_NAME_KEY = "recognizer_name"
RECOGNIZER_IDENTIFIER_KEY = "recognizer_identifier"
IS_SCORE_ENHANCED_BY_CONTEXT_KEY = "is_score_enhanced_by_context"


def fold(text: str) -> str:
    """Case- and accent-insensitive form for context matching ("Sécurité" -> "securite").

    Only combining marks are removed, so the result has the same length as the input for
    precomposed text; it is used for searching, never for offsets into the original.
    """
    folded = text.casefold()
    # ASCII is its own NFKD form and holds no combining mark: most prompts are, and the
    # character-by-character pass below was a third of the street-address recognizer's CPU
    # on the concurrency benchmark's prompts and answers (a str.translate table or a regular
    # expression of the 912 combining marks were no faster than this pass on other text)
    if folded.isascii():
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def within_cpu_limit(search: Callable[[float | None], T], limit_s: float | None,
                     thread_clock: Callable[[], float] = time.thread_time,
                     whole_pass: bool = False) -> T:
    """``search(timeout)`` run until it ends or has used ``limit_s`` of this thread's CPU time
    in all; ``timeout`` is the ``regex`` module's limit for one attempt. Raises
    ``TimeoutError`` when the CPU limit is reached. ``limit_s`` None: the search runs once,
    without a timeout (a ``CpuTimer`` holds the pass it belongs to).

    An attempt is cut when the whole *process* has used ``timeout`` of CPU since it began
    (``regex`` reads ``clock()``), so while other threads of the process are busy it gets
    less than that of this thread's CPU, and a retry starts from the beginning. Each attempt
    after a cut one has a timeout grown by what the last one saw (the process's CPU over this
    thread's; the process's CPU for one attempt at most ``MAX_ATTEMPT_SCALE`` times the limit):
    a search that needs less than its limit alone ends in its second attempt while the
    process's other threads use up to ``MAX_ATTEMPT_SCALE`` - 1 times its CPU (5 ms alone: up
    to 800 times; before, each retry got as little as the first, and beside 100 times a 5 ms
    search failed after 100 attempts), and a runaway one stops after 1 to 2 times ``limit_s``
    of this thread's CPU (``tests/unit/test_search_retries.py``). The searches of
    ``find_all`` and ``search`` hold the GIL (``concurrent=False``): the engine releases it by
    default and takes it back every 256 steps, and there the CPU of the process's other
    Python threads ran into the timeout (three busy threads: 17 times the search's own CPU,
    at the median; docs/benchmarks.md, branch ``postguard``).

    ``whole_pass``: ``search`` is a recognizer's whole pass, whose searches pass
    ``search_timeout_s`` themselves: during each attempt that is the limit grown as above,
    and a ``within_cpu_limit`` inside it runs its search once (the pass is what is retried).
    """
    if limit_s is None:
        return search(None)
    if _this_thread.attempt_scale is not None:
        return search(limit_s)  # inside a pass's attempt: the pass is retried, not this
    spent = 0.0
    timeout = limit_s
    while True:
        started = thread_clock()
        try:
            if not whole_pass:
                return search(timeout)
            _this_thread.attempt_scale = timeout / limit_s
            try:
                return search(timeout)
            finally:
                _this_thread.attempt_scale = None
        except TimeoutError:
            used = thread_clock() - started
            spent += used
            if spent >= limit_s:
                raise
            # the attempt was cut when the process had used ``timeout`` of CPU, this thread
            # ``used`` of it: at that rate, the next attempt gets the whole limit of this
            # thread's CPU (a retry starts again), its timeout at most ``MAX_ATTEMPT_SCALE``
            # times the limit (no clock read added: one per search is what the timer saves
            # in a detection process)
            ratio = timeout / used if used > 0 else MAX_ATTEMPT_SCALE
            timeout = limit_s * min(max(ratio, 1.0), MAX_ATTEMPT_SCALE)


# The most a retried attempt's timeout is grown by (``within_cpu_limit``): a thread cut off
# from the CPU while others of its process run sees any ratio; this bounds what one attempt
# may use of the process's CPU to this many times the search's limit
MAX_ATTEMPT_SCALE = 16.0


def find_all(pattern: regex.Pattern[str], text: str,
             limit_s: float | None = REGEX_TIMEOUT_S) -> list[regex.Match[str]]:
    """Every match of ``pattern`` in ``text``, within ``limit_s`` of CPU time (None: within
    the ``CpuTimer`` of the pass)."""
    return within_cpu_limit(lambda timeout: list(pattern.finditer(
        text, timeout=timeout, concurrent=False)), limit_s)


def search(pattern: regex.Pattern[str], text: str,
           limit_s: float | None = REGEX_TIMEOUT_S) -> regex.Match[str] | None:
    """The first match of ``pattern`` in ``text``, within ``limit_s`` of CPU time (None: within
    the ``CpuTimer`` of the pass)."""
    return within_cpu_limit(lambda timeout: pattern.search(text, timeout=timeout,
                                                           concurrent=False), limit_s)


def holds_any(text: str, literals: tuple[str, ...]) -> bool:
    """False only when ``text`` holds none of ``literals``: then a pattern every match of which
    holds one of them, as written (an alternation of plain words read with their case), cannot
    match it, and its scan of the whole text is skipped."""
    return any(literal in text for literal in literals)


def pass_cpu_limit(search_limit_s: float, text_chars: int) -> float:
    """The CPU seconds a ``CpuTimer`` allows one recognizer's pass over a text of
    ``text_chars`` characters: one search's limit, plus ``PASS_CPU_PER_CHAR_S`` per character
    for the pass's ordinary work (under ``SearchTimeouts`` each search has its own limit, so a
    pass over a long text may use many times ``search_limit_s``)."""
    return search_limit_s + PASS_CPU_PER_CHAR_S * text_chars


def steps_cpu_limit(text_chars: int) -> float:
    """The CPU seconds the steps after the recognizers may use on one request whose messages
    hold ``text_chars`` characters (``STEPS_CPU_BASE_S``, ``STEPS_CPU_PER_CHAR_S``)."""
    return STEPS_CPU_BASE_S + STEPS_CPU_PER_CHAR_S * text_chars


class StepsOverCpuLimit(DouaneError, TimeoutError):
    """The steps after the recognizers (``RegexGuard.bounded``) used their CPU limit on one
    request: it is blocked (fail closed), never sent with the findings made so far. The
    message names the guard only, never the request's text."""

    MESSAGE = ("the steps after the recognizers used their CPU limit on one request "
               "(guard: steps_cpu_limit)")

    def __init__(self, message: str = MESSAGE) -> None:
        super().__init__(message)  # (an argument: an exception is pickled with its args)


def models_cpu_limit(text_chars: int) -> float:
    """The CPU seconds a model stage (the NER, or the opt-in tiers after the recognizers) may
    use on one request whose messages hold ``text_chars`` characters (``MODELS_CPU_BASE_S``,
    ``MODELS_CPU_PER_CHAR_S``)."""
    return MODELS_CPU_BASE_S + MODELS_CPU_PER_CHAR_S * text_chars


class ModelsOverCpuLimit(DouaneError, TimeoutError):
    """A model stage (spaCy's NER, or the tiers after the recognizers) used its CPU limit on
    one request (``models_cpu_limit``): it is blocked (fail closed). The message names the
    guard only, never the request's text."""

    MESSAGE = ("the NER or a model tier used its CPU limit on one request "
               "(guard: models_cpu_limit)")

    def __init__(self, message: str = MESSAGE) -> None:
        super().__init__(message)  # (an argument: an exception is pickled with its args)


class Bounded(Protocol):
    """A recognizer as its guard sees it: its CPU limit per search."""

    cpu_limit_s: float


class _ThisThread(threading.local):
    """What this thread's searches and steps run under: ``timed`` while a ``CpuTimer`` holds
    its pass (its searches then pass no ``timeout=``: ``SearchLimits.search_timeout_s``), and
    the cooperative budget of the steps it runs (``bounded``), if any. Per thread: a pass in
    one thread must never take another's searches' limit away (the recognizers are shared)."""

    timed = False
    budget: _Budget | None = None
    # while a recognizer's whole pass is retried (``within_cpu_limit``): its searches' limit
    # grown by this much for the attempt
    attempt_scale: float | None = None
    # inside ``shielded()``: a timer that runs out raises only when the block ends
    shielded = 0


_this_thread = _ThisThread()


class _Budget:
    """A limit of this thread's CPU time, read at ``checkpoint()`` (every ``CHECKPOINT_EVERY``
    calls): where no signal reaches (a thread), the steps' loops call it."""

    def __init__(self, limit_s: float, error: Callable[[], BaseException],
                 clock: Callable[[], float]) -> None:
        self.clock = clock
        self.deadline = clock() + limit_s
        self.error = error
        self.calls = 0

    def charge(self) -> None:
        self.calls += 1
        if self.calls % CHECKPOINT_EVERY == 0 and self.clock() > self.deadline:
            raise self.error()


def checkpoint() -> None:
    """Where a step after the recognizers or a model stage checks its CPU budget, in a thread
    no signal reaches (``RegexGuard.bounded``): once per finding, occurrence or text read it
    handles. In a detection process's main thread, where the timer raises by itself, only the
    timer's error deferred by a shielded block (``shielded``); nothing outside a bounded step."""
    budget = _this_thread.budget
    if budget is not None:
        budget.charge()
    elif _this_thread.timed and isinstance(_guard, CpuTimer):
        _guard.raise_if_fired()


# Code the CPU timer never interrupts (``shielded``): a library's bookkeeping that an exception
# in the middle would leave broken for the next batch (spaCy's memory zone entered or left).
# ``_SHIELDED_CALLS``: anything these functions call; ``_SHIELDED_OWN``: these functions' own
# lines only (a generator whose frame stays on the stack while the NER it drives runs)
_SHIELDED_CALLS: set[CodeType] = set()
_SHIELDED_OWN: set[CodeType] = set()
F = TypeVar("F", bound=Callable[..., Any])


def shielded(function: F, calls: bool = True) -> F:
    """``function`` (with ``calls`` False: its own lines, not what it calls) runs to its end
    when the CPU timer runs out meanwhile; the timer's error is then raised at the next
    ``checkpoint()`` or when the timed work ends (``CpuTimer._timed``). A registry of code
    objects, read from the interrupted frame: no flag to set, so no line between the timer's
    signal and a flag set in time."""
    (_SHIELDED_CALLS if calls else _SHIELDED_OWN).add(function.__code__)
    return function


def _shielded(frame: FrameType | None) -> bool:
    if frame is not None and frame.f_code in _SHIELDED_OWN:
        return True
    while frame is not None:
        if frame.f_code in _SHIELDED_CALLS:
            return True
        frame = frame.f_back
    return False


# the clock of the cooperative budget (tests give it a clock of their own)
_budget_clock: Callable[[], float] = time.thread_time


def _cooperative(limit_s: float, work: Callable[[], T],
                 error: Callable[[], BaseException]) -> T:
    """``work()`` with a budget of ``limit_s`` of this thread's CPU that ``checkpoint()`` reads;
    an inner bounded step keeps the outer budget's deadline if it is sooner."""
    outer = _this_thread.budget
    budget = _Budget(limit_s, error, _budget_clock)
    if outer is not None and outer.deadline < budget.deadline:
        budget.deadline, budget.error = outer.deadline, outer.error
    _this_thread.budget = budget
    try:
        return work()
    finally:
        _this_thread.budget = outer


class RegexGuard:
    """How this process holds recognizers' searches and the steps after them to their CPU
    limit (see the module's docstring). ``regex_guard()`` is the one in use."""

    name: ClassVar[str]

    def recognizer_pass(self, recognizer: Bounded, work: Callable[[], T], text: str) -> T:
        """``work()``: ``recognizer``'s whole work on ``text``."""
        raise NotImplementedError

    def bounded(self, limit_s: float, work: Callable[[], T],
                error: Callable[[], BaseException] = StepsOverCpuLimit) -> T:
        """``work()`` stopped with ``error()`` once it has used ``limit_s`` of CPU: a step with
        no search of its own to time (the steps after the recognizers). Here, a budget its
        loops read at ``checkpoint()``."""
        return _cooperative(limit_s, work, error)


class SearchTimeouts(RegexGuard):
    """Each search carries its own ``timeout=`` (``recognizer.search_timeout_s``, the
    recognizer's CPU limit) and runs in ``within_cpu_limit``: nothing to do around a pass."""

    name = "timeout"

    def recognizer_pass(self, recognizer: Bounded, work: Callable[[], T], text: str) -> T:
        return work()


class CpuTimer(RegexGuard):
    """A CPU-time timer on the process (``ITIMER_PROF``) around each recognizer's pass over one
    text, whose signal handler raises ``TimeoutError``; the pass's searches run without
    ``timeout=``. Only for the main thread of a process that has nothing else to time with
    ``SIGPROF`` (a detection process): ``use_cpu_timer()``. The steps after the recognizers
    (``bounded``) run under the same timer, with their own limit."""

    name = "timer"
    TIMER = signal.ITIMER_PROF
    SIGNAL = signal.SIGPROF

    def __init__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("signals reach only the main thread: install CpuTimer there")
        if signal.getsignal(self.SIGNAL) not in (signal.SIG_DFL, signal.SIG_IGN):
            raise RuntimeError("SIGPROF already has a handler (a profiler?): not replaced")
        self._main_thread = threading.get_ident()
        self._armed = False  # a pass is running and its timer may raise
        self._fired = False  # the pass's timer ran out (even if its exception was swallowed)
        self._error: Callable[[], BaseException] = _recognizer_over_limit
        # libraries that fill lazily what an exception mid-way would leave broken, filled now
        # (phonenumbers loads a region's metadata holding a lock it releases without
        # ``finally``: an exception inside would leave it held, and the next load would hang)
        import phonenumbers

        phonenumbers.PhoneMetadata.load_all()
        signal.signal(self.SIGNAL, self._on_timer)

    def _on_timer(self, signum: int, frame: FrameType | None) -> None:
        # A tick of an earlier pass handled late finds this pass's timer still running: only
        # a pass whose own timer has run out is stopped, and only while it runs.
        if not self._armed or signal.getitimer(self.TIMER)[0] > 0.0:
            return
        self._armed = False  # at most one exception per pass: the ``finally`` below is safe
        self._fired = True
        if _shielded(frame):
            return  # raised at the next ``checkpoint()``, or when the work ends
        raise self._error()

    def raise_if_fired(self) -> None:
        """In the work this timer holds: its error if the timer ran out while a shielded
        block ran (``shielded``) or its exception was swallowed."""
        if self._fired and _this_thread.timed:
            raise self._error()

    def recognizer_pass(self, recognizer: Bounded, work: Callable[[], T], text: str) -> T:
        if self._armed or threading.get_ident() != self._main_thread:
            # inside an armed pass (its timer holds this too), or a thread the signal never
            # reaches (its searches keep their timeouts: ``search_timeout_s`` is per thread)
            return work()
        return self._timed(pass_cpu_limit(recognizer.cpu_limit_s, len(text)), work,
                           _recognizer_over_limit)

    def bounded(self, limit_s: float, work: Callable[[], T],
                error: Callable[[], BaseException] = StepsOverCpuLimit) -> T:
        if threading.get_ident() != self._main_thread:
            return _cooperative(limit_s, work, error)  # no signal reaches this thread
        if self._armed:  # an outer timer holds this (and stops it with its own error)
            return work()
        return self._timed(limit_s, work, error)

    def _timed(self, limit_s: float, work: Callable[[], T],
               error: Callable[[], BaseException]) -> T:
        """``work()`` under the timer, armed with ``limit_s`` of the process's CPU."""
        self._fired = False
        self._error = error
        try:
            _this_thread.timed = True  # this thread's searches: no ``timeout=`` meanwhile
            # (a limit of 0 would disarm the timer: the smallest it counts instead)
            signal.setitimer(self.TIMER, max(limit_s, 1e-6))
            self._armed = True
            result = work()
        finally:
            try:
                self._armed = False  # the handler may have done this itself, and raised
            finally:
                signal.setitimer(self.TIMER, 0.0)
                _this_thread.timed = False
        if self._fired:  # the pass swallowed the timer's exception: its findings are not kept
            raise error()
        return result


def _recognizer_over_limit() -> TimeoutError:
    return TimeoutError("a recognizer used its CPU limit on one text")


_guard: RegexGuard = SearchTimeouts()


def regex_guard() -> RegexGuard:
    """The guard of this process's recognizer passes and of the steps after them."""
    return _guard


def use_cpu_timer() -> CpuTimer:
    """Make ``CpuTimer`` this process's guard (a detection process, at its start, in its main
    thread, before it builds its recognizers); the same one if already in use."""
    global _guard
    if not isinstance(_guard, CpuTimer):
        _guard = CpuTimer()
    return _guard


@lru_cache(maxsize=256)
def context_regex(words: tuple[str, ...]) -> regex.Pattern[str] | None:
    if not words:
        return None
    alternatives = sorted({regex.escape(fold(w)) for w in words}, key=len, reverse=True)
    return regex.compile(r"(?<!\w)(?:" + "|".join(alternatives) + ")")


# a run of decimal digits, as the patterns' ``\d`` reads them (Unicode's Nd)
DIGIT_RUN = regex.compile(r"\d++")
# the flags ``re``'s parser reads as ``regex`` does (same values in both modules)
_RE_FLAGS = re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE


def min_digit_run(expression: str, flags: int = 0) -> int:
    r"""A length every match of ``expression`` holds as consecutive digits: with ``n``, each
    match has a run of at least ``n`` characters that ``\d`` matches, one after another.

    Proof, on ``re``'s parsed form of the expression (``regex`` reads these constructs alike):
    in a sequence of items, a stretch of adjacent items each of which consumes digits only
    (a class of digits: ``\d``, ``[0-9]``, ``[01]``, a digit literal; a repeat of such a
    class, a group or alternation whose every branch is itself digits only) matches a
    substring of digits at least as long as the sum of their minimum lengths; zero-width
    items (look-arounds, anchors) consume nothing and leave the digits on both sides
    adjacent; anything else may consume a non-digit and ends the stretch. The bound of a
    sequence is its longest stretch, at least that of any group it holds whatever matches
    around; of an alternation, its smallest branch. Whatever ``re`` cannot parse (``\p{L}``,
    ``regex``'s own flags) gets 0: never skipped."""
    syntax = RE_SYNTAX
    if syntax is None or flags & ~_RE_FLAGS:
        return 0
    try:
        parsed = syntax.parser.parse(expression, flags)
    except (re.error, ValueError, TypeError):
        return 0
    return _sequence_bound(list(parsed))[0]


def _digits_only(item: tuple[Any, Any]) -> int | None:
    """The minimum length of ``item`` when it consumes digits only, else None."""
    op, arg = item
    name = str(op)
    if name == "LITERAL":
        return 1 if "0" <= chr(arg) <= "9" else None
    if name == "IN":
        for kind, value in arg:
            if str(kind) == "CATEGORY" and str(value) == "CATEGORY_DIGIT":
                continue
            if str(kind) == "LITERAL" and "0" <= chr(value) <= "9":
                continue
            if str(kind) == "RANGE" and chr(value[0]) >= "0" and chr(value[1]) <= "9":
                continue
            return None  # a negation, another category, a letter
        return 1 if arg else None
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, _, body = arg
        inner = _sequence_bound(list(body))
        return None if inner[1] is None else low * inner[1]
    if name in ("SUBPATTERN", "ATOMIC_GROUP"):
        return _sequence_bound(_body(name, arg))[1]
    if name == "BRANCH":
        lengths = [_sequence_bound(list(branch))[1] for branch in arg[1]]
        return None if any(n is None for n in lengths) else min(
            n for n in lengths if n is not None)
    return None


def _sequence_bound(items: list[tuple[Any, Any]]) -> tuple[int, int | None]:
    """(the longest run of digits every match of the sequence holds, the sequence's minimum
    length when it consumes digits only, else None)."""
    best, stretch, whole = 0, 0, 0
    only_digits = True
    for op, arg in items:
        name = str(op)
        if name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue  # zero width: the digits either side stay adjacent
        length = _digits_only((op, arg))
        if length is not None:
            stretch += length
            whole += length
            best = max(best, stretch)
            continue
        only_digits = False
        stretch = 0
        best = max(best, _inner_bound((op, arg)))
    return best, whole if only_digits else None


def _body(name: str, arg: Any) -> list[tuple[Any, Any]]:
    """The items of a group: ``(?:...)`` carries (group, flags added, flags removed, items),
    ``(?>...)`` its items alone."""
    return list(arg[-1] if name == "SUBPATTERN" else arg)


def _inner_bound(item: tuple[Any, Any]) -> int:
    """The run of digits every match of a non-digit ``item`` holds inside it."""
    op, arg = item
    name = str(op)
    if name in ("SUBPATTERN", "ATOMIC_GROUP"):
        return _sequence_bound(_body(name, arg))[0]
    if name == "BRANCH":
        return min(_sequence_bound(list(branch))[0] for branch in arg[1])
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and arg[0] >= 1:
        return _sequence_bound(list(arg[2]))[0]
    return 0


# how long the longest run of digits in a text is: asked by every recognizer with a bound
# (``Pattern.min_digit_run``) for the same text. Its keys are the texts read: forgotten when
# the batch ends (``batch_memos``)
@per_batch(maxsize=64)
def longest_digit_run(text: str) -> int:
    # a single possessive class: linear in the text, no time limit needed
    return max(map(len, DIGIT_RUN.findall(text)), default=0)


class Pattern:
    """One way an identifier is written, and its score when no context word is near it.
    ``min_digit_run``: every match holds that many consecutive digits (``min_digit_run()``),
    so a text whose longest run of digits is shorter holds no match."""

    def __init__(self, name: str, expression: str, score: float, flags: int = 0) -> None:
        self.name = name
        self.regex = regex.compile(expression, flags)
        self.score = score
        self.min_digit_run = min_digit_run(expression, flags)


# what a search passes while the timer holds its pass (``SearchLimits.searching``)
_TIMED_SEARCH: dict[str, Any] = {"timeout": None, "concurrent": False}


class SearchLimits:
    """A recognizer's CPU limit per search (``timeout_s``, ``cpu_limit_s``) and what its
    searches pass as ``timeout=`` (``search_timeout_s``: the limit, or None while a
    ``CpuTimer`` holds its pass in this thread)."""

    cpu_limit_s: float

    @property
    def timeout_s(self) -> float:
        """The CPU seconds a search may use (setting it sets what the searches pass)."""
        return self.cpu_limit_s

    @timeout_s.setter
    def timeout_s(self, limit_s: float) -> None:
        self.cpu_limit_s = limit_s

    @property
    def search_timeout_s(self) -> float | None:
        """What this thread's searches pass as ``timeout=``: None while a ``CpuTimer`` holds
        this thread's pass, else the limit. Read per thread, never set on the recognizer (a
        recognizer is shared: the timer's pass in the main thread once set it to None for a
        pass in any other thread too, which then ran without a limit)."""
        if _this_thread.timed:
            return None
        scale = _this_thread.attempt_scale
        return self.cpu_limit_s if scale is None else self.cpu_limit_s * scale

    @property
    def searching(self) -> dict[str, Any]:
        """The keyword arguments of this thread's searches (``pattern.finditer(text,
        **self.searching)``): ``timeout=`` ``search_timeout_s``, and the GIL held while the
        engine matches (``concurrent=False``): released, it is taken back every 256 steps,
        and the CPU of the process's other Python threads meanwhile ran into the timeout
        (see ``within_cpu_limit``)."""
        if _this_thread.timed:
            return _TIMED_SEARCH
        return {"timeout": self.search_timeout_s, "concurrent": False}


class PersonRecognizer(SearchLimits, LocalRecognizer):
    """Base class of douane's own name recognizers (given names, name shapes, possible names,
    the Ukrainian and Icelandic lexicons): one entity, ``PERSON``, nothing to load; a subclass
    loads its lexicons in its constructor (not during the first request), then calls this one,
    and implements ``find_persons``.

    A subclass runs many searches, each with ``**self.searching``
    (``timeout=self.search_timeout_s``, the GIL held). Under
    ``SearchTimeouts`` that is ``timeout_s`` (the ``regex`` module's limit per attempt) and the
    whole pass is held to that much *CPU* time here (``within_cpu_limit``), so that a thread
    kept waiting for a core on a busy machine does not block an ordinary text; under
    ``CpuTimer`` it is None while the timer holds the pass (see the module's docstring)."""

    ENTITY: ClassVar[str] = "PERSON"

    def __init__(self, supported_language: str = "en",
                 timeout_s: float = REGEX_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        super().__init__(supported_entities=[self.ENTITY],
                         supported_language=supported_language, name=type(self).__name__)

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: Sequence[str] | None = None,
                nlp_artifacts: Any = None, regex_flags: Any = None) -> list[RecognizerResult]:
        if entities and "PERSON" not in entities:
            return []
        return regex_guard().recognizer_pass(self, lambda: within_cpu_limit(
            lambda _: self.find_persons(text), self.search_timeout_s, whole_pass=True), text)

    def find_persons(self, text: str) -> list[RecognizerResult]:
        raise NotImplementedError


class DouaneRecognizer(SearchLimits, LocalRecognizer):
    """Base class: subclasses set ENTITY, PATTERNS and CONTEXT and implement ``validate``."""

    ENTITY: ClassVar[str]
    PATTERNS: ClassVar[Sequence[Pattern]]
    # Context words per language; "*" applies to every language (acronyms, English).
    CONTEXT: ClassVar[Mapping[str, Sequence[str]]] = {}
    SCORE_WITH_CONTEXT: ClassVar[float] = 1.0
    # A cheap test that the text can contain this identifier at all (e.g. a digit, an "@").
    PREFILTER: ClassVar[regex.Pattern[str] | None] = regex.compile(r"\d")

    def __init__(self, supported_language: str = "en",
                 timeout_s: float = REGEX_TIMEOUT_S) -> None:
        words = tuple(self.CONTEXT.get("*", ())) + tuple(self.CONTEXT.get(supported_language, ()))
        self.timeout_s = timeout_s
        self._context = context_regex(words)
        self._needs_digits = any(p.min_digit_run > 0 for p in self.PATTERNS)
        super().__init__(
            supported_entities=[self.ENTITY], supported_language=supported_language,
            name=type(self).__name__, context=list(words),
        )

    def load(self) -> None:  # nothing to load: patterns are compiled at class definition
        pass

    def validate(self, candidate: str) -> bool:
        """True when the candidate is a real identifier (checksum, date, length...)."""
        raise NotImplementedError

    def spans(self, text: str, match: regex.Match[str]) -> Iterator[tuple[int, int]]:
        """The validated span(s) inside one pattern match; by default the whole match."""
        if self.validate(match.group()):
            yield match.start(), match.end()

    def analyze(
        self, text: str, entities: Sequence[str] | None = None,
        nlp_artifacts: Any = None, regex_flags: Any = None,
    ) -> list[RecognizerResult]:
        if entities and self.ENTITY not in entities:
            return []
        return regex_guard().recognizer_pass(self, lambda: self.find_entities(text), text)

    def find_entities(self, text: str) -> list[RecognizerResult]:
        """What ``analyze`` returns (a subclass with more to do overrides this, so that its
        whole work on the text is one pass of its guard)."""
        # a pattern whose every match holds a longer run of digits than the text has is not
        # run (``min_digit_run``): 4-digit years cannot hold a kennitala or a UNZR
        longest = longest_digit_run(text) if self._needs_digits else 0
        if self._needs_digits and all(p.min_digit_run > longest for p in self.PATTERNS):
            return []
        if self.PREFILTER is not None and not search(self.PREFILTER, text,
                                                     self.search_timeout_s):
            return []
        found: dict[tuple[int, int], float] = {}
        for pattern in self.PATTERNS:
            if pattern.min_digit_run > longest:
                continue
            for match in find_all(pattern.regex, text, self.search_timeout_s):
                for start, end in self.spans(text, match):
                    score = self.SCORE_WITH_CONTEXT if self.has_context(text, start, end) \
                        else pattern.score
                    if score > found.get((start, end), 0.0):
                        found[(start, end)] = score
        return [self._result(start, end, score) for (start, end), score in sorted(found.items())]

    def has_context(self, text: str, start: int, end: int) -> bool:
        if self._context is None:
            return False
        window = fold(text[max(0, start - CONTEXT_BEFORE) : start]) + " " + fold(
            text[end : end + CONTEXT_AFTER])
        return search(self._context, window, self.search_timeout_s) is not None

    def _result(self, start: int, end: int, score: float) -> RecognizerResult:
        return RecognizerResult(
            entity_type=self.ENTITY, start=start, end=end, score=score,
            recognition_metadata={
                RECOGNIZER_NAME_KEY: type(self).__name__,
                RECOGNIZER_IDENTIFIER_KEY: self.id,
                IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True,  # context already applied here
            },
        )


def digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())
