"""A found name's neighbours and its later mentions (``recognizers/repeated_names.py``): what
NER or the lexicon found once is redacted wherever else the request names the person."""

from __future__ import annotations

import pytest

from streams.adapters.recognizers.repeated_names import (
    coordinated,
    later_mentions,
    merged,
    widened,
)
from streams.core.model import Finding


def person(text: str, value: str, score: float = 0.85, message: int = 0,
           entity: str = "PERSON") -> Finding:
    start = text.index(value)
    return Finding(message, entity, start, start + len(value), score, "test")


def again(text: str, *found: str) -> list[str]:
    return [text[f.start:f.end] for f in later_mentions([text], [person(text, v) for v in found])]


def widen(text: str, value: str, *others: Finding) -> list[str]:
    return [text[f.start:f.end] for f in widened([text], [person(text, value), *others])
            if f.entity_type == "PERSON"]


@pytest.mark.parametrize(("text", "found", "expected"), [
    # the surname alone, the given name alone, a surname in capitals
    ("Dear Valentina Costa, we wrote to Mrs Costa. Valentina called; COSTA is on the form.",
     "Valentina Costa", ["Costa", "Valentina", "COSTA"]),
    # two words of the name side by side make one finding
    ("Yusuf Okafor wrote. Later Yusuf Okafor called again.", "Yusuf Okafor",
     ["Yusuf Okafor"]),
    ("Teetat Bunlerngsri asked; Bunlerngsri will call.", "Teetat Bunlerngsri",
     ["Bunlerngsri"]),
    # beside a day, a month or a word opening the sentence
    ("María Belmar wrote. On Monday Belmar will be away. Later Belmar called.",
     "María Belmar", ["Belmar", "Belmar"]),
])
def test_a_found_name_is_found_again(text: str, found: str, expected: list[str]) -> None:
    assert again(text, found) == expected


def test_later_mentions_in_other_messages_of_the_request() -> None:
    first, second = "Letter from Xenia Dubois.", "Reply to Dubois today."
    found = later_mentions([first, second], [person(first, "Xenia Dubois")])
    assert [(f.message_index, second[f.start:f.end]) for f in found] == [(1, "Dubois")]


@pytest.mark.parametrize(("text", "found"), [
    # another name holds the word: a country, a brand, a place
    ("Paulo Costa moved to Costa Rica.", "Paulo Costa"),
    ("Louis Martin bought a Louis Vuitton bag.", "Louis Martin"),
    # inside an e-mail or a web address (the e-mail recognizer covers it)
    ("Arkadii Abramchuk: arkadii.abramchuk@example.org", "Arkadii Abramchuk"),
    # a name common as a word is not a person alone
    ("Will Smith said he will come.", "Will Smith"),
    # titles and particles are not names alone
    ("Mr Ahmed bin Rashid came. Mr Jones and bin collections.", "Ahmed bin Rashid"),
    # not from a span that is not written like a name (NER took a heading for a person)
    ("Liste des communes du Lot. Liste des communes de la Creuse.", "Liste des communes du Lot"),
    # lower case only in a text written without capitals
    ("Karina Rojo asked. The rojo wine was served.", "Karina Rojo"),
])
def test_what_is_not_a_later_mention(text: str, found: str) -> None:
    assert again(text, found) == []


def test_lower_case_mentions_in_a_text_without_capitals() -> None:
    text = "so karina rojo called again\ni told rojo we'd sort it out\nkarina said thanks"
    assert again(text, "karina rojo") == ["rojo", "karina"]


def test_a_score_below_the_threshold_is_not_repeated() -> None:
    text = "Xenia Dubois wrote. Dubois called."
    assert later_mentions([text], [person(text, "Xenia Dubois", score=0.4)]) == []


def test_names_from_the_e_mail_addresses_of_the_request() -> None:
    text = ("- Farhod Muhammadsolihov confirmed the account.\n- E-mail: "
            "farhod.muhammadsolihov+benefits@hotmail.com. Write to info@city.example; "
            "Info desk and Benefits office are closed.")
    email = person(text, "farhod.muhammadsolihov+benefits@hotmail.com",
                   entity="EMAIL_ADDRESS")
    other = person(text, "info@city.example", entity="EMAIL_ADDRESS")
    assert [text[f.start:f.end] for f in later_mentions([text], [email, other])] == [
        "Farhod Muhammadsolihov"]


@pytest.mark.parametrize(("text", "found", "expected"), [
    # the given name NER or the lexicon left beside the surname it found
    ("Nobody answered. Ekaja Choudhry has called.", "Choudhry", "Ekaja Choudhry"),
    ("Conjoint : NASCIMENTO Luísa\n", "Luísa", "NASCIMENTO Luísa"),
    ("Visit to Teetat Bunlerngsri on Tuesday", "Teetat Bunlerngsri", "Teetat Bunlerngsri"),
    # surname first in a list or a header: across the comma, when alone between delimiters
    ("From: Abramchuk, Arkadii <a@example.org>", "Abramchuk", "Abramchuk, Arkadii"),
    ("Attendees: Shukronova, Safiya (chair), A. Pölitz", "Safiya", "Shukronova, Safiya"),
    # particles and a word cut at an apostrophe
    ("the report of da Cunha was read", "Cunha", "da Cunha"),
    ("Conjoint : VAN HENEGOUWEN Noa", "HENEGOUWEN Noa", "VAN HENEGOUWEN Noa"),
    ("request made with Asma’u Abubakar today", "u Abubakar", "Asma’u Abubakar"),
    # not over the words around a name
    ("Dear Teetat Kumsoontorn,", "Teetat Kumsoontorn", "Teetat Kumsoontorn"),
    ("On Monday Akçay will be away", "Akçay", "Akçay"),
    ("We moved from Cite El Farik What's your name?", "Cite El Farik", "Cite El Farik"),
    ("CATTLE CALVES HOGS Bloggs", "HOGS Bloggs", "HOGS Bloggs"),
    ("Please write to Sarah Lee Foundation staff.", "Sarah Lee", "Sarah Lee"),
])
def test_a_name_takes_in_its_neighbours(text: str, found: str, expected: str) -> None:
    assert widen(text, found) == [expected]


def test_a_neighbour_another_finding_holds_is_left_to_it() -> None:
    text = "Jean Dupont Paris office"
    place = person(text, "Paris", entity="LOCATION")
    assert widen(text, "Jean Dupont", place) == ["Jean Dupont"]


def test_a_name_does_not_run_across_lines() -> None:
    assert widen("Applicant: Ochoa, Jeffrey\n\n- Form B2 sent", "Jeffrey\n\n- Form") == [
        "Ochoa, Jeffrey"]
    assert widen("Name: Anna Josefsen\nAddress: 12 Main St", "Anna Josefsen\nAddress") == [
        "Anna Josefsen"]
    # a later line that opens with a known name is a person too
    assert widen("Attendees: Dubas, Hanna\n\nSafiya Shukronova opened", "Hanna\n\nSafiya "
                 "Shukronova") == ["Dubas, Hanna", "Safiya Shukronova"]


def test_overlapping_persons_are_one_with_the_best_score() -> None:
    text = "Personne à prévenir : BOŽIČ Veronika, 2127.4387"
    lexicon, ner = person(text, "BOŽIČ Veronika", 0.84), person(text, "Veronika", 0.85)
    (merged,) = widened([text], [ner, lexicon])
    assert (text[merged.start:merged.end], merged.score) == ("BOŽIČ Veronika", 0.85)


def test_one_word_is_repeated_only_after_a_title() -> None:
    text = "Please reply to Mrs Okonkwo today. Okonkwo wrote twice. Bot: hello. Bot said."
    found = [person(text, "Okonkwo"), person(text, "Bot")]
    assert [text[f.start:f.end] for f in later_mentions([text], found)] == ["Okonkwo"]


@pytest.mark.parametrize(("text", "found", "expected"), [
    # a known surname between delimiters even when it is also a word
    ("Partner: Sur, Aradhana\n\nNobody answers.", "Aradhana", "Sur, Aradhana"),
    # in running text: a known given name after the comma, or a word no dictionary holds
    # before one
    ("E-mail from Rastija, Mato (m@example.org) about it", "Rastija", "Rastija, Mato"),
    ("the application I made with Chumachenko, Iryna. I attach", "Iryna",
     "Chumachenko, Iryna"),
    # a capitalised function word that is a given name, inside a sentence, before a name
    ("Selon Les Zharko, le dossier a été perdu.", "Zharko", "Les Zharko"),
])
def test_surname_first_and_given_names_that_are_words(
        text: str, found: str, expected: str) -> None:
    assert widen(text, found) == [expected]


@pytest.mark.parametrize(("text", "found", "expected"), [
    ("We drove with Paris, Iryna. Then", "Iryna", "Iryna"),  # a common word: not a name
    # in running text, after the comma, a word that is not a given name
    ("We wrote to Okafor, Brussels. Then", "Okafor", "Okafor"),
    ("Les Zharko et Yaman affirment que", "Zharko", "Zharko"),  # "Les" opening a sentence,
    # a plural verb: the article
    ("Then Zharko called.", "Zharko", "Zharko"),
])
def test_what_a_name_does_not_take_in(text: str, found: str, expected: str) -> None:
    assert widen(text, found) == [expected]


def test_a_given_name_that_is_a_word_is_found_again_inside_sentences() -> None:
    text = "Selon Les Zharko, rien. Il a appelé Les au bureau. Les demandes sont en retard."
    assert again(text, "Les Zharko") == ["Les"]


def test_les_opening_a_sentence_before_a_singular_verb_of_a_person_is_the_name() -> None:
    # "Les" the article would take a plural verb ("Les Zharko souhaitent", "Les demandes")
    assert widen("Rien. Les Zharko affirme que tout est faux.", "Zharko") == ["Les Zharko"]
    text = "Selon Les Zharko, rien. Les demande un rappel. Les demandes attendront."
    assert again(text, "Les Zharko") == ["Les"]
    assert text.index("Les demande un") == next(f.start for f in later_mentions(
        [text], [person(text, "Les Zharko")]))


@pytest.mark.parametrize(("text", "found", "expected"), [
    ("Sierra et Nicole Leite souhaitent des excuses.", "Nicole Leite", ["Sierra"]),
    ("Nicole Leite and Amanda came.", "Nicole Leite", ["Amanda"]),
    ("Mr Brown y Luna firmaron.", "Brown", ["Luna"]),
    # not a common word, a function word, a title or a name another finding holds
    ("Paris and Nicole Leite met.", "Nicole Leite", []),
    ("Nicole Leite et Les autres.", "Nicole Leite", []),
    ("Nicole Leite and Mrs Okafor.", "Nicole Leite", []),
])
def test_a_given_name_joined_to_a_person(text: str, found: str, expected: list[str]) -> None:
    findings = [person(text, found)]
    if "Okafor" in text:
        findings.append(person(text, "Okafor"))
    assert [text[f.start:f.end] for f in coordinated([text], findings)] == expected


def test_surname_first_does_not_reach_into_another_name() -> None:
    # "Margaud" held by another finding, "Aminova" ends the name before: "Baron" stays alone
    # (widened into "Aminova, Baron" it would lose to "Mohinur Aminova" and leave "Baron")
    text = "Present: Mohinur Aminova, Baron, Margaud."
    assert widen(text, "Baron", person(text, "Margaud")) == ["Baron", "Margaud"]


def test_a_one_word_name_no_dictionary_holds_is_found_again() -> None:
    text = "Duplii signale un problème. Plus tard, Duplii a rappelé; le bot aussi. Bot a écrit."
    found = [person(text, "Duplii"), person(text, "Bot")]
    assert [text[f.start:f.end] for f in later_mentions([text], found)] == ["Duplii"]


def test_a_person_beaten_by_an_e_mail_address_leaves_the_name_to_the_others() -> None:
    text = "From: María Rivera <m.rivera@example.org>\nTo: housing"
    ner = person(text, "María Rivera <m.rivera@example.org", 0.85)
    lexicon = person(text, "María Rivera", 0.84)
    mail = person(text, "m.rivera@example.org", 1.0, entity="EMAIL_ADDRESS")
    out = widened([text], [ner, mail, lexicon])
    assert ("María Rivera", 0.84) in [(text[f.start:f.end], f.score) for f in out]


def test_a_later_mention_past_a_name_found_merges_with_it() -> None:
    text = "Present: Díaz, Hernando, Ieva."
    ner, later = person(text, "Díaz", 0.85), person(text, "Díaz, Hernando", 0.84)
    (found,) = [f for f in merged([ner, later]) if f.entity_type == "PERSON"]
    assert (text[found.start:found.end], found.score) == ("Díaz, Hernando", 0.85)


def test_a_one_word_name_the_lexicon_knows_is_found_again() -> None:
    text = "Hernando thanked Mr Lee. Present: Ortiz, Hernando, Ieva."
    assert again(text, "Hernando") == ["Hernando"]


def test_words_of_a_name_written_together_again() -> None:
    text = "Dang The Chi is really upset.\nThe Chi wants the money. The file is late."
    assert "The Chi" in again(text, "Dang The Chi")  # (with "Chi": merged by the detector)


def test_a_capitalised_function_word_inside_a_sentence_before_a_name() -> None:
    assert widen("Please contact He Yan instead.", "Yan") == ["He Yan"]
    assert widen("He Yan called.", "Yan") == ["Yan"]  # the pronoun opening a sentence
    assert widen("- Called Lewis (social worker).", "Lewis") == ["Lewis"]


def test_a_person_an_iban_overlaps_keeps_what_lies_outside_it() -> None:
    text = "Paid to UA51 1338 53HM HBRJ BZZL FWZM KAVV L. Coppens later wrote to us."
    iban = person(text, "UA51 1338 53HM HBRJ BZZL FWZM KAVV L", 1.0, entity="IBAN_CODE")
    out = widened([text], [iban, person(text, "L. Coppens")])
    assert [text[f.start:f.end] for f in out if f.entity_type == "PERSON"] == ["Coppens"]


@pytest.mark.parametrize(("text", "found", "expected"), [
    # surname first before a colon, after a cue, a surname rare as a word before the comma
    ("- Contact number given by Novitasari, Winda: 094 235 721.", "Winda",
     "Novitasari, Winda"),
    ("- E-mail from Sidhu, Nandini (n@example.org) about the damp.", "Nandini",
     "Sidhu, Nandini"),
    ("- Called Sabil, Qasid (social worker) on Monday.", "Sabil", "Sabil, Qasid"),
    # a one-word surname before given names of two words, at the start of an item
    ("- Visit on Tuesday; Le, Bao Yen was present.", "Bao Yen", "Le, Bao Yen"),
])
def test_surname_first_in_running_text(text: str, found: str, expected: str) -> None:
    assert widen(text, found) == [expected]


def test_surname_first_not_from_an_english_word() -> None:
    assert widen("Nothing.\nThen, John Smith was present.", "John Smith") == ["John Smith"]


def test_a_common_word_of_a_found_name_inside_a_sentence() -> None:
    text = ("Home visit with Permun Seven planned.\n- Visit to Seven on Tuesday.\n"
            "Seven days later nothing.")
    assert again(text, "Permun Seven") == ["Seven"]


def test_a_word_beside_a_name_is_judged_in_the_language_of_the_text() -> None:
    text = "Both Siya Randhawa and Nguyễn Thị Tú would like an apology."
    found = [person(text, "Nguyễn Thị")]
    assert [text[f.start:f.end] for f in widened([text], found, language="en")] == [
        "Nguyễn Thị Tú"]
    assert [text[f.start:f.end] for f in widened([text], found, language="es")] == [
        "Nguyễn Thị"]  # "tú" is a Spanish word


def test_a_given_name_two_spaces_before_a_name_found() -> None:
    text = "On Monday Alta  Gracia will be away, so please call."
    found = [person(text, "Gracia")]
    assert [text[f.start:f.end] for f in widened([text], found, language="en")] == [
        "Alta  Gracia"]
    # "alta" is a Spanish word
    assert [text[f.start:f.end] for f in widened([text], found, language="es")] == ["Gracia"]


# --- fifth pass (issue 14)

def test_a_name_is_not_lost_with_the_line_ner_ran_into() -> None:
    # NER's "Morton\n\nPartner: Đặng" merged with the lexicon's "Đặng", then cut at the line
    text = "Applicant: Ms Morton\n\nPartner: Đặng, Dương\n\nRequest: grant"
    ner = Finding(0, "PERSON", text.index("Morton"), text.index("Đặng") + 4, 0.85, "spacy")
    found = widened([text], [ner, person(text, "Đặng", 0.84), person(text, "Dương", 0.84)])
    assert [text[f.start:f.end] for f in found] == ["Morton", "Đặng", "Dương"]


@pytest.mark.parametrize(("text", "found", "expected"), [
    # a word of a name found, opening a sentence before a verb of a person or an auxiliary
    ("Dr Long Chao était présente. Long apportera le bail.", "Long Chao", ["Long"]),
    ("J'ai parlé à Le The Vu. Le dépôt est payé. Le a déjà eu votre collègue.",
     "Le The Vu", ["Le"]),
    ("Present: Fabián Río. The minutes were approved. Río thanked the panel.",
     "Fabián Río", ["Río"]),
    # not an article before a noun
    ("Dr Long Chao était présente. Long courrier reçu.", "Long Chao", []),
])
def test_a_word_of_a_name_opening_a_sentence_before_a_verb(text: str, found: str,
                                                          expected: list[str]) -> None:
    assert again(text, found) == expected


def test_a_word_of_a_name_judged_in_the_language_of_the_text() -> None:
    # "na" is a French function word, not an English one: "Na Long" makes "Long" a name
    text = "Na Long is copied. Please contact Long instead. My neighbour, Long, can confirm."
    found = later_mentions([text], [person(text, "Na Long")], language="en")
    assert [text[f.start:f.end] for f in found] == ["Long", "Long"]
    # "Juan" is common as a word in Spanish, not in French
    text = "Nous avons noté que Şama et Juan habitent ensemble."
    found = coordinated([text], [person(text, "Şama")], language="fr")
    assert [text[f.start:f.end] for f in found] == ["Juan"]


@pytest.mark.parametrize(("text", "found", "expected"), [
    # an apostrophe inside a romanised name: the word beside the name found is part of it
    ("Applicant: Muslima E’zozova\n", "Muslima", ["Muslima E’zozova"]),
    # a French elision or an English contraction is not
    ("Pour Muslima l’équipe a répondu.", "Muslima", ["Muslima"]),
])
def test_an_apostrophe_inside_a_name(text: str, found: str, expected: list[str]) -> None:
    assert widen(text, found) == expected


@pytest.mark.parametrize(("text", "found", "expected"), [
    # the first part of a hyphenated given name no lexicon reads ("I-Chen")
    ("Emergency contact: I-Chen Wang, +354 616 5295", "Chen Wang", ["I-Chen Wang"]),
    ("anyway Tsung-Han Lin said thanks", "Han Lin", ["Tsung-Han Lin"]),
    # not a number or a lower-case word before the hyphen
    ("in 2020-Chen Lin said", "Chen Lin", ["Chen Lin"]),
    ("the pro-Chen Lin camp", "Chen Lin", ["Chen Lin"]),
])
def test_the_first_part_of_a_hyphenated_name_sixth_pass(text: str, found: str,
                                                       expected: list[str]) -> None:
    assert widen(text, found) == expected


def _at(text: str, value: str, occurrence: int = 0) -> Finding:
    at = -1
    for _ in range(occurrence + 1):
        at = text.index(value, at + 1)
    return Finding(0, "PERSON", at, at + len(value), 0.85, "test")


@pytest.mark.parametrize(("text", "found", "expected"), [
    # a word of a name found, however common as a word, joined to a person
    ("Present: Daghfal Man, Gülhisar Bilge.\n\nMan and Bilge disagreed.",
     [("Daghfal Man", 0), ("Bilge", 1)], ["Man"]),
    ("Présents : Mai Anh, Dian Rahayu. Mai et Dian Rahayu souhaitent des excuses.",
     [("Mai Anh", 0), ("Dian Rahayu", 1)], ["Mai"]),
    # not a word no name found holds
    ("Present: Daghfal Tan.\n\nThe Man and Bilge disagreed.", [("Daghfal Tan", 0),
                                                             ("Bilge", 0)], []),
])
def test_a_word_of_a_name_found_joined_to_a_person_sixth_pass(
        text: str, found: list[tuple[str, int]], expected: list[str]) -> None:
    findings = [_at(text, value, n) for value, n in found]
    assert [text[f.start:f.end] for f in coordinated([text], findings)] == expected


@pytest.mark.parametrize(("text", "expected"), [
    # a word of a name found, opening a sentence, before a French object pronoun and a verb
    ("Le dossier de Vu Thi Lan est complet. Vu nous a transmis les pièces.", ["Vu"]),
    ("Le dossier de Vu Thi Lan est complet. Vu m'a dit qu'il viendrait.", ["Vu"]),
    # not a participle opening a sentence, nor a pronoun before another verb
    ("Le dossier de Vu Thi Lan est complet. Vu le dossier, rien ne manque.", []),
    ("Le dossier de Vu Thi Lan est complet. Vu nous semble juste.", []),
])
def test_a_word_of_a_name_before_an_object_pronoun_sixth_pass(
        text: str, expected: list[str]) -> None:
    assert again(text, "Vu Thi Lan") == expected


# --- seventh pass (issue 14)

def place(text: str, value: str) -> Finding:
    return person(text, value, entity="LOCATION")


@pytest.mark.parametrize(("text", "found", "place_word", "expected"), [
    # NER's place reading of the other word of an item written surname first
    ("Referred by: Zakusylo, Klavdiia\n\nIBAN: none", "Zakusylo", "Klavdiia",
     "Zakusylo, Klavdiia"),
    ("Emergency contact: Le, Khoa, +1-201-558-6231\n", "Le", "Khoa", "Le, Khoa"),
    # a given name that is a particle elsewhere; two given names
    ("Partner: Tran, Van\n\nHousehold: 2 adults", "Tran", None, "Tran, Van"),
    ("Partner: Vũ, Văn Tú\n\nMobile: none", "Vũ", None, "Vũ, Văn Tú"),
    # a list item, and a verb of a person after the name
    ("Notes.\n- Ionescu, Jasmina will bring the agreement.", "Jasmina", "Ionescu",
     "Ionescu, Jasmina"),
    ("Notes.\n- Zabashta, Varfolomii asked that letters go to her.", "Varfolomii", None,
     "Zabashta, Varfolomii"),
])
def test_an_item_written_surname_first_seventh_pass(
        text: str, found: str, place_word: str | None, expected: str) -> None:
    others = (place(text, place_word),) if place_word else ()
    # in English ("tú" is a Spanish word)
    found_now = widened([text], [person(text, found), *others], language="en")
    assert [text[f.start:f.end] for f in found_now if f.entity_type == "PERSON"] == [expected]


@pytest.mark.parametrize(("text", "found", "place_word"), [
    # not at the start of an item
    ("We drove with Okafor, Brussels and more.", "Okafor", "Brussels"),
    # the item goes on with words that are not a verb of a person
    ("Address: Okafor, Lagos Road, Ikeja\n", "Okafor", None),
    # a common word after the comma
    ("- Okafor, Then the visit.", "Okafor", None),
])
def test_what_an_item_written_surname_first_does_not_take_seventh_pass(
        text: str, found: str, place_word: str | None) -> None:
    others = (place(text, place_word),) if place_word else ()
    assert widen(text, found, *others) == [found]


@pytest.mark.parametrize(("text", "found", "expected"), [
    # the particles of a name and a word that can be part of one, after a name found
    ("Bonjour Ecrin van der Laarse,\n\nAucune question.", "Ecrin", "Ecrin van der Laarse"),
    ("Letter from Joost van Oosterhout today.", "Joost", "Joost van Oosterhout"),
    # not a common word after them
    ("Marie de Paris est venue.", "Marie", "Marie"),
    ("Ask Ana de la part du service.", "Ana", "Ana"),
])
def test_particles_after_a_name_found_seventh_pass(text: str, found: str,
                                                   expected: str) -> None:
    assert widen(text, found) == [expected]


@pytest.mark.parametrize(("text", "found", "language", "expected"), [
    # a Vietnamese name found without its family name (a word of the text's language) takes
    # it in, written as the name is
    ("Le matin. Vu Mai Bao Quang m'a conseillé d'écrire.", "Bao Quang", "fr",
     "Vu Mai Bao Quang"),
    ("salut\nfais court\nmai hoàng ngọc veut le virement\nmerci", "hoàng ngọc", "fr",
     "mai hoàng ngọc"),
    # not a family name written otherwise than the name, nor a function word in lower case,
    # nor before a name that is not Vietnamese syllables
    ("Le matin. vu Mai Bao Quang m'a conseillé.", "Mai Bao Quang", "fr", "Mai Bao Quang"),
    ("salut\nje vois ta hoàng ngọc demain\nmerci", "hoàng ngọc", "fr", "hoàng ngọc"),
    ("Le matin. Vu Jean Dupont m'a conseillé.", "Jean Dupont", "fr", "Jean Dupont"),
])
def test_a_vietnamese_family_name_before_a_name_found_eighth_pass(
        text: str, found: str, language: str, expected: str) -> None:
    found_now = widened([text], [person(text, found)], language=language)
    assert [text[f.start:f.end] for f in found_now if f.entity_type == "PERSON"] == [expected]


@pytest.mark.parametrize(("text", "found", "expected"), [
    # a word no dictionary holds, in lower case after a title: its other mentions too
    ("Mr. ribič chaired; ribič proposed a compromise.", "ribič", ["ribič"]),
    # a lower-case word after a title that a dictionary holds is not taken from
    ("Mr. smith chaired; smith proposed a compromise.", "smith", []),
])
def test_the_later_mentions_of_a_lower_case_name_after_a_title_eighth_pass(
        text: str, found: str, expected: list[str]) -> None:
    start = text.index(found)
    finding = Finding(0, "PERSON", start, start + len(found), 0.84, "test")
    assert [text[f.start:f.end] for f in later_mentions([text], [finding])] == expected


@pytest.mark.parametrize(("text", "found", "places", "expected"), [
    # a word no dictionary holds, joined to a person, is a person ("like with like")
    ("Pannawich et Maître Chen rencontreront les riverains.", ["Maître Chen"], [],
     ["Pannawich"]),
    ("Nicole Leite and Okonkwa came.", ["Nicole Leite"], [], ["Okonkwa"]),
    # such a word that NER took alone for a place
    ("Monsieur Aebi et Nimrat habitent ensemble.", ["Aebi"], ["Nimrat"], ["Nimrat"]),
    # not a word a dictionary holds, nor one NER took for a place (a country, a given name
    # that is a word), nor a word a longer place finding holds
    ("The heads of state of Gabon, Mali and Chad met.", ["Mali"], ["Chad"], []),
    ("Bappa et Olivier souhaitent des excuses écrites.", ["Bappa"], ["Olivier"], []),
    ("Nicole Leite and Justice came.", ["Nicole Leite"], [], []),
    ("Bappa et Olivier Street.", ["Bappa"], ["Olivier Street"], []),
    ("Nicole Leite et Nimrat-Nord.", ["Nicole Leite"], ["et Nimrat-Nord"], []),
])
def test_joined_to_a_person_a_word_no_dictionary_holds_or_a_place_of_ner_ninth_pass(
        text: str, found: list[str], places: list[str], expected: list[str]) -> None:
    findings = [person(text, v) for v in found] + [person(text, v, entity="LOCATION")
                                                  for v in places]
    assert [text[f.start:f.end] for f in coordinated([text], findings)] == expected
