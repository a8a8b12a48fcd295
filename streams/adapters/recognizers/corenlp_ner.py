"""Stanford CoreNLP's CRF NER as an opt-in second tier for English and Spanish (issue 14).

CoreNLP and its models are GPL v3 or later, so douane does not link them: the classifier runs
unmodified in a JVM of its own beside each detection process that needs it (the *sidecar*),
and douane exchanges lines of text and offsets with it through a pipe. The small Java program
that loads the classifiers (``corenlp/CrfSidecar.java``) imports CoreNLP's classes and carries
its licence (``SPDX-License-Identifier: GPL-3.0-or-later``). Nothing of CoreNLP is committed or
shipped: ``douane models fetch corenlp`` fetches the code jar and the two classifier files
from Maven Central, each pinned by its sha256, into ``DOUANE_CORENLP_DIR``.

``DOUANE_EN_NER`` / ``DOUANE_ES_NER`` (``streams.config.NerTiers``):

- ``off`` (the default): spaCy and the patterns alone;
- ``corenlp-unsure``: the CRF reads only the sentences the fast pass is unsure of (a
  capitalised word, not the first, that no finding of score >= 0.5 covers: the rule of the
  Ukrainian tier), all of a batch's in one exchange with the sidecar;
- ``corenlp``: the CRF reads every sentence.

Its PERSON spans join the findings at score 0.84, as the Ukrainian tier's do (just below spaCy's
0.85: where both report a span, spaCy's boundaries win). A sidecar that died or hangs fails the
detection (the request is blocked, never let through unchecked); the next detection starts a
new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import threading
import time
import weakref
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

import httpx

from streams.adapters.recognizers.base import shielded
from streams.adapters.recognizers.slovnet_ner import unsure_sentences
from streams.errors import DouaneError

VERSION = "4.5.10"
MAVEN_URL = f"https://repo1.maven.org/maven2/edu/stanford/nlp/stanford-corenlp/{VERSION}"
FETCH_COMMAND = "douane models fetch corenlp"
MAIN_JAR = f"stanford-corenlp-{VERSION}.jar"
MAIN_JAR_SHA256 = "f813ce4ed7319d79225f2a520d40733075c6b3500dd0b81ee069229e461aab43"
SOURCE = Path(__file__).with_name("corenlp") / "CrfSidecar.java"
MAIN_CLASS = "CrfSidecar"
# the JVM's heap per classifier it holds: English alone does not start at 128m; at 256m it runs
# at ~8 ms CPU per prompt of 180 words, 295 MB resident. Both classifiers in 256m made the
# garbage collector run all the time (27 ms per prompt); in 512m, 9 ms and ~510 MB
HEAP_PER_CLASSIFIER_MB = 256
SCORE = 0.84
LABELS = {"PERSON"}  # its places and organisations are not added (not measured as a tier)
START_TIMEOUT_S = 120.0  # loading both classifiers: 2-3 s on an idle core
CALL_TIMEOUT_S = 60.0  # a sidecar silent this long is killed (the detection has failed by then)


@dataclass(frozen=True)
class Classifier:
    """A CRF classifier inside one of CoreNLP's models jars on Maven Central."""

    jar: str
    jar_sha256: str
    member: str
    sha256: str

    @property
    def file_name(self) -> str:
        return Path(self.member).name


# the classifiers CoreNLP's own English and Spanish pipelines use; sha256 of the files as served
# by Maven Central on 2026-11-30 (their .sha1 files agreed; docs/benchmarks.md)
CLASSIFIERS = {
    "en": Classifier(
        f"stanford-corenlp-{VERSION}-models.jar",
        "a5da9f6feb35a0fd2ea2cbe8909bede3952965b238a68c833ae3e031ed9026a0",
        "edu/stanford/nlp/models/ner/english.all.3class.distsim.crf.ser.gz",
        "b474b216183022f4d24f6006e4b8e084642f645525337378e5582f0e8768a9fe"),
    "es": Classifier(
        f"stanford-corenlp-{VERSION}-models-spanish.jar",
        "d7472daa295293ee42c85ca3e9c10fc0868b6c6b100e800458a81a179c725a6a",
        "edu/stanford/nlp/models/ner/spanish.ancora.distsim.s512.crf.ser.gz",
        "da7b130ddc49b8a82f5b8bd5ee37dd80e1fdb85b5a2729b55c5486edc03ac7b9"),
}

Finding = tuple[str, int, int, float, str]
_T = TypeVar("_T")
Progress = Callable[[str], None]


class CoreNlpUnavailableError(DouaneError, RuntimeError):
    """A CoreNLP tier is on but its files or Java are missing, or fetching them failed."""


class CoreNlpSidecarError(DouaneError, RuntimeError):
    """The CoreNLP sidecar died, hung or answered what was not asked (detection fails)."""


# ----------------------------------------------------------------------------- files


def classifier_path(home: Path, language: str) -> Path:
    return home / "ner" / CLASSIFIERS[language].file_name


def missing_files(home: Path, languages: Iterable[str]) -> list[Path]:
    wanted = [home / MAIN_JAR, *(classifier_path(home, lang) for lang in languages)]
    return [path for path in wanted if not path.is_file()]


def _digest(path: Path) -> str | None:
    """The file's sha256, or None when it is not there."""
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pinned_problems(home: Path, languages: Iterable[str]) -> list[str]:
    """The files of ``languages``' tier that are there but differ from their pins."""
    wanted = [(home / MAIN_JAR, MAIN_JAR_SHA256),
              *((classifier_path(home, lang), CLASSIFIERS[lang].sha256) for lang in languages)]
    return [f"{path.name}: sha256 {actual}, {expected} pinned" for path, expected in wanted
            if (actual := _digest(path)) is not None and actual != expected]


def java(tool: str = "java") -> str | None:
    """``java`` or ``javac`` on the PATH (Java 17, as for the development Kafka broker)."""
    return shutil.which(tool)


def compiled_classes(home: Path) -> Path:
    """The folder of the compiled sidecar, named after its source's digest (a changed source
    is compiled anew, never run stale)."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    return home / "classes" / digest


def compile_sidecar(home: Path) -> Path:
    """Compile ``CrfSidecar.java`` against the code jar once, into the CoreNLP folder."""
    classes = compiled_classes(home)
    if (classes / f"{MAIN_CLASS}.class").is_file():
        return classes
    javac = java("javac")
    if javac is None:
        raise CoreNlpUnavailableError(
            "javac (a Java 17 JDK) is needed once to compile the CoreNLP sidecar; "
            f"install it and run `{FETCH_COMMAND}`")
    partial = classes.with_name(classes.name + f".part{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    result = subprocess.run([javac, "-cp", str(home / MAIN_JAR), "-d", str(partial),
                             str(SOURCE)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise CoreNlpUnavailableError(
            f"javac could not compile {SOURCE.name}: {result.stderr.strip()[-500:]}")
    with contextlib.suppress(OSError):  # another process compiled it meanwhile: theirs is kept
        partial.rename(classes)
    shutil.rmtree(partial, ignore_errors=True)
    return classes


def fetch(home: Path, languages: Sequence[str] = ("en", "es"), progress: Progress = print,
          client: httpx.Client | None = None, base_url: str = MAVEN_URL,
          compile_wrapper: bool = True) -> None:
    """Fetch what the CoreNLP tier of ``languages`` needs into ``home``, each file checked
    against its sha256 pin before it takes its final name (an interrupted or altered download
    is never left as if complete), then compile the sidecar.

    The code jar is fetched whole (9 MB); of each models jar (222-474 MB) only the classifier
    is read, by HTTP range requests on the zip's central directory and the one member; a
    server that does not honour ranges makes it fetch the whole jar (its own pin checked)."""
    unknown = [lang for lang in languages if lang not in CLASSIFIERS]
    if unknown:
        raise CoreNlpUnavailableError(
            f"no CoreNLP classifier for {', '.join(unknown)} (known: {', '.join(CLASSIFIERS)})")
    home.mkdir(parents=True, exist_ok=True)
    owned = client is None
    http = client or httpx.Client(timeout=60.0, follow_redirects=True)
    try:
        if _digest(home / MAIN_JAR) != MAIN_JAR_SHA256:
            _download(http, f"{base_url}/{MAIN_JAR}", home / MAIN_JAR, MAIN_JAR_SHA256,
                      progress)
        for language in languages:
            target = classifier_path(home, language)
            if _digest(target) == CLASSIFIERS[language].sha256:
                progress(f"{target} already there (sha256 checked)")
                continue
            _fetch_member(http, base_url, home, CLASSIFIERS[language], target, progress)
    except httpx.HTTPError as error:
        raise CoreNlpUnavailableError(
            f"could not fetch CoreNLP from {base_url} ({type(error).__name__}: {error}); "
            "offline? Nothing incomplete was kept: run the command again when the network "
            "is back, or copy the files named in docs/operations.md into "
            f"{home}") from None
    finally:
        if owned:
            http.close()
    if compile_wrapper:
        classes = compile_sidecar(home)
        progress(f"CoreNLP {VERSION} ready in {home} (sidecar compiled in {classes})")


def _download(http: httpx.Client, url: str, target: Path, sha256: str,
              progress: Progress) -> None:
    with http.stream("GET", url) as response:
        response.raise_for_status()
        size = int(response.headers.get("content-length", 0))
        progress(f"downloading {url} ({size / 1e6:.1f} MB)")
        _write_checked(response.iter_bytes(1 << 20), size, target, url, sha256, progress)


def _write_checked(blocks: Iterable[bytes], size: int, target: Path, what: str, sha256: str,
                   progress: Progress, label: str = "") -> None:
    """Write ``blocks`` to ``target`` only if their sha256 is the pinned one: they go to a
    ``.part`` file first, so an interrupted or altered download never looks complete."""
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            done, shown = 0, 0.0
            for block in blocks:
                out.write(block)
                digest.update(block)
                done += len(block)
                if size and done / size - shown >= 0.1:
                    shown = done / size
                    progress(f"  {label}{done / 1e6:.0f} of {size / 1e6:.0f} MB")
        _check_digest(what, digest.hexdigest(), sha256)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _check_digest(what: str, actual: str, expected: str) -> None:
    if actual != expected:
        raise CoreNlpUnavailableError(
            f"{what}: sha256 {actual}, but {expected} is pinned (a different or damaged file; "
            "nothing was kept)")


def _fetch_member(http: httpx.Client, base_url: str, home: Path, classifier: Classifier,
                  target: Path, progress: Progress) -> None:
    url = f"{base_url}/{classifier.jar}"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        remote = RangeFile(http, url)
    except RangesRefused:
        progress(f"{url}: the server does not serve byte ranges; fetching the whole jar")
        jar = home / classifier.jar
        if not jar.is_file():
            _download(http, url, jar, classifier.jar_sha256, progress)
        with zipfile.ZipFile(jar) as models:
            _extract(models, classifier, target, progress)
        return
    progress(f"reading {classifier.file_name} out of {url} ({remote.size / 1e6:.0f} MB) by "
             "byte ranges")
    with zipfile.ZipFile(remote) as models:
        _extract(models, classifier, target, progress)
    progress(f"  {remote.fetched / 1e6:.1f} MB fetched in {remote.requests} requests")


def _extract(models: zipfile.ZipFile, classifier: Classifier, target: Path,
             progress: Progress) -> None:
    size = models.getinfo(classifier.member).file_size
    with models.open(classifier.member) as member:
        _write_checked(iter(lambda: member.read(1 << 20), b""), size, target,
                       f"{classifier.jar}!{classifier.member}", classifier.sha256, progress,
                       f"{classifier.file_name}: ")


class RangesRefused(DouaneError, RuntimeError):
    """The server does not serve byte ranges (the whole jar is fetched instead)."""


class RangeFile(io.RawIOBase):
    """A remote file read by HTTP range requests, seekable: enough for ``zipfile`` to read
    the central directory and one member without fetching the rest."""

    BLOCK = 4 << 20

    def __init__(self, http: httpx.Client, url: str) -> None:
        self._http, self._url = http, url
        self.requests = self.fetched = 0
        probe = self._get(0, 0)
        if probe.status_code != 206 or "content-range" not in probe.headers:
            raise RangesRefused
        self.size = int(probe.headers["content-range"].rsplit("/", 1)[1])
        self._position = 0
        self._cache_start, self._cache = 0, b""

    def _get(self, first: int, last: int) -> httpx.Response:
        self.requests += 1
        response = self._http.get(self._url, headers={"Range": f"bytes={first}-{last}"})
        if response.status_code not in (200, 206):
            response.raise_for_status()
        self.fetched += len(response.content)
        return response

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        wanted = min(len(buffer), self.size - self._position)
        if wanted <= 0:
            return 0
        end = self._position + wanted
        cache_end = self._cache_start + len(self._cache)
        if not (self._cache_start <= self._position and end <= cache_end):
            last = min(self.size, self._position + max(wanted, self.BLOCK)) - 1
            response = self._get(self._position, last)
            if response.status_code != 206:
                raise RangesRefused
            self._cache_start, self._cache = self._position, response.content
        offset = self._position - self._cache_start
        chunk = self._cache[offset:offset + wanted]
        buffer[:len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)


# ----------------------------------------------------------------------------- the sidecar


@dataclass(frozen=True)
class CrfEntity:
    label: str
    start: int  # code points, in the text sent
    end: int


class CoreNlpSidecar:
    """``CrfSidecar`` in a JVM of its own (one per detection process), for ``languages``.

    Started at once; a sidecar that died is replaced at the next call (that call waits for the
    classifiers to load, 2-3 s); a call on a sidecar that dies or stays silent for
    ``call_timeout_s`` raises ``CoreNlpSidecarError``."""

    def __init__(self, home: Path, languages: Sequence[str], heap: str | None = None,
                 call_timeout_s: float = CALL_TIMEOUT_S,
                 start_timeout_s: float = START_TIMEOUT_S) -> None:
        self.languages = tuple(dict.fromkeys(languages))
        self.heap = heap or f"{HEAP_PER_CLASSIFIER_MB * len(self.languages)}m"
        self.call_timeout_s = call_timeout_s
        self.start_timeout_s = start_timeout_s
        check_available(home, self.languages)
        self._command = [
            str(java()), f"-Xmx{self.heap}", "-XX:+UseSerialGC",
            "-cp", f"{home / MAIN_JAR}{os.pathsep}{compile_sidecar(home)}", MAIN_CLASS,
            *(f"{lang}={classifier_path(home, lang)}" for lang in self.languages)]
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.exchanges = 0  # batches sent (one per detect_batch and language)
        self.startup_seconds = 0.0
        self._start()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _start(self) -> None:
        started = time.monotonic()
        process = subprocess.Popen(self._command, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        # the JVM stops when its stdin closes: with this object, or with this process
        weakref.finalize(self, _stop, process)
        self._process = process
        self.starts += 1
        ready = self._with_deadline(self.start_timeout_s, self._stdout.readline)
        if ready.strip() != b"ready":
            self._kill()
            raise CoreNlpSidecarError(
                f"the CoreNLP sidecar did not start (exit {process.poll()}; try "
                f"`{' '.join(self._command[:3])} -version`, heap -Xmx{self.heap})")
        self.startup_seconds = time.monotonic() - started

    @property
    def _stdout(self) -> IO[bytes]:
        assert self._process is not None and self._process.stdout is not None
        return self._process.stdout

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def entities(self, language: str, texts: Sequence[str]) -> list[list[CrfEntity]]:
        """Each text's entities (offsets in code points of that text), in one exchange."""
        if language not in self.languages:
            raise ValueError(f"the CoreNLP sidecar has no classifier for {language!r}")
        if not texts:
            return []
        # one text per line: a line break inside becomes a space (same length, and a token
        # boundary for the CRF as for us); a lone surrogate, which UTF-8 cannot carry, a "?"
        lines = [text.replace("\r", " ").replace("\n", " ") for text in texts]
        payload = (f"{language} {len(lines)}\n" + "".join(f"{line}\n" for line in lines)
                   ).encode("utf-8", "replace")
        with self._lock:
            if not self.alive():
                self._start()
            assert self._process is not None and self._process.stdin is not None
            stdin = self._process.stdin
            try:
                def exchange() -> list[bytes]:
                    stdin.write(payload)
                    stdin.flush()
                    return [self._stdout.readline() for _ in lines]

                self.exchanges += 1
                answers = self._with_deadline(self.call_timeout_s, exchange)
                if not answers or not answers[-1].endswith(b"\n"):
                    raise CoreNlpSidecarError("the CoreNLP sidecar exited mid-answer")
                return [_parse(answer) for answer in answers]
            except (OSError, ValueError, CoreNlpSidecarError) as error:
                self._kill()
                if isinstance(error, CoreNlpSidecarError):
                    raise
                raise CoreNlpSidecarError(
                    f"the CoreNLP sidecar failed ({type(error).__name__})") from None

    def _with_deadline(self, seconds: float, call: Callable[[], _T]) -> _T:
        """``call``, with the JVM killed if it takes longer (its pipe then ends: the call
        returns or raises at once)."""
        timer = threading.Timer(seconds, self._kill)
        timer.daemon = True
        timer.start()
        try:
            return call()
        finally:
            timer.cancel()

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def close(self) -> None:
        if self._process is not None:
            _stop(self._process)


# an exchange interrupted half-way (a model stage's CPU timer, ``models_cpu_limit``) would leave
# the sidecar's answers out of step with its questions: it runs to its end (its own deadline,
# the JVM's CPU not counted by this process's timer), the timer's error raised after it
shielded(CoreNlpSidecar.entities)


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        if process.stdin is not None:
            process.stdin.close()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def _parse(answer: bytes) -> list[CrfEntity]:
    out = []
    for field in answer.decode("utf-8").rstrip("\n").split("\t"):
        if field:
            label, start, end = field.split(" ")
            out.append(CrfEntity(label, int(start), int(end)))
    return out


def check_available(home: Path, languages: Iterable[str]) -> None:
    """Raise, naming the settings and the command that fetches them, when a CoreNLP tier
    cannot run: files not fetched, or no Java."""
    languages = tuple(languages)
    settings = " / ".join(f"DOUANE_{lang.upper()}_NER" for lang in languages)
    missing = missing_files(home, languages)
    if missing:
        raise CoreNlpUnavailableError(
            f"{settings} is on but CoreNLP is not in {home} (missing "
            f"{', '.join(p.name for p in missing)}): run `{FETCH_COMMAND}` (GPL v3+, "
            "docs/operations.md), or set it to off")
    altered = pinned_problems(home, languages)
    if altered:
        raise CoreNlpUnavailableError(
            f"{settings} is on but CoreNLP's files in {home} are not those pinned "
            f"({'; '.join(altered)}): run `{FETCH_COMMAND}` again")
    if java() is None:
        raise CoreNlpUnavailableError(
            f"{settings} is on but java (17 or newer) is not on the PATH")


# ----------------------------------------------------------------------------- the tier


class CoreNlpTier:
    """The CRF's PERSON spans for each language's texts, read whole or where unsure."""

    def __init__(self, home: Path, modes: dict[str, str],
                 sidecar: CoreNlpSidecar | None = None) -> None:
        self.modes = {lang: mode for lang, mode in modes.items() if mode != "off"}
        self.sidecar = sidecar or CoreNlpSidecar(home, tuple(self.modes))

    def name(self, language: str) -> str:
        return f"corenlp:{language}"

    def find(self, language: str, texts: Sequence[str],
             covered: Sequence[Sequence[tuple[int, int]]]) -> list[list[Finding]]:
        """PERSON findings the CRF adds to ``texts``; ``covered`` are the first pass's spans
        (score >= 0.5) per text, read in the ``corenlp-unsure`` mode."""
        if self.modes[language] == "corenlp-unsure":
            pieces = unsure_sentences(texts, covered)
        else:
            pieces = [(t, 0, len(text)) for t, text in enumerate(texts) if text]
        found = self.sidecar.entities(language, [texts[t][start:end] for t, start, end in pieces])
        out: list[list[Finding]] = [[] for _ in texts]
        name = self.name(language)
        for (t, offset, _), entities in zip(pieces, found, strict=True):
            out[t].extend(("PERSON", offset + e.start, offset + e.end, SCORE, name)
                          for e in entities if e.label in LABELS and e.end > e.start)
        return out

    def close(self) -> None:
        self.sidecar.close()
