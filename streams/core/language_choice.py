"""Which language's analysis a prompt gets, when the detected language is one douane does not
analyse (pure: values in, values out).

The language detector (lingua) chooses among more candidates than douane analyses, so that a
German prompt is called German and gets the patterns only, not English NER. But a prompt that
is a list - sports results, names and places, numbers - gives it little to go on: on the
third-party corpora it named Italian, German or Dutch for English and Spanish lists of names,
with a confidence of 0.9-1.0, and those prompts held most of the names that still leaked
(docs/benchmarks.md, "The language of short, list-like prompts"). Two signals lingua does not
weigh are used instead, only when its choice is a language douane does not analyse:

- **function words**: the share of the text's words that are function words of each
  candidate language. Prose carries many (0.2-0.5 of its words, in every corpus measured);
  when an analysed language's share is clearly above the detected language's, the text is
  written in the analysed one whatever its letter statistics say;
- **lower-case words**: a list of names and numbers has almost none; prose, even German prose
  with its capitalised nouns, has many. A list-like text gets the NER (or name lexicon) of an
  analysed language - the one its function words, then lingua's confidence, then the policy's
  default language point to - since a name in a list is found by any of them, and patterns
  alone find none.

Prose in a language douane does not analyse keeps that language (and the policy's
``unsupported_language`` rule), so German or Italian text is not read by an English model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# A text is list-like when fewer than LIST_LIKE_BELOW of its words are written in lower case
# and fewer than LIST_FUNCTION_WORDS_BELOW are function words of the detected language. Prose
# measured on the third-party corpora (de, nl, it, pt, ru Wikipedia and news; 200 prompts
# each): lower-case share 0.6-0.9, but German, which capitalises its nouns, down to 0.36 - and
# then 0.29 or more of its words are German function words; lists of results and names:
# lower-case share 0.0-0.3, function words 0.0-0.18.
LIST_LIKE_BELOW = 0.4
LIST_FUNCTION_WORDS_BELOW = 0.25
# Function words point to an analysed language when its share is at least this much above
# the detected language's, and at least FUNCTION_WORDS_MIN (a few words shared by chance
# between languages, "a", "de", "la", prove nothing). Prose in a language douane does not
# analyse scored at most 0.06 in en, fr or es; Russian at most 0.22 in Ukrainian, but its own
# share was higher.
FUNCTION_WORDS_MARGIN = 0.1
FUNCTION_WORDS_MIN = 0.1
# Under this many words nothing is decided from the words (one or two words are either
# language); lingua's choice stands.
MIN_WORDS = 4
# lingua's confidence for a language it finds no trace of is 0.0 or close to it: below this,
# its ranking among analysed languages says nothing and the default language is used.
CONFIDENCE_FLOOR = 0.01

DETECTED = "detected"
FUNCTION_WORDS = "function-words"
LIST_LIKE = "list-like"


@dataclass(frozen=True)
class TextSignals:
    """What is known of a text's language: lingua's confidence values and counts of words."""

    confidences: Mapping[str, float]  # language -> lingua's confidence (they sum to 1)
    function_shares: Mapping[str, float]  # language -> share of words that are its function words
    lowercase_share: float  # share of words written in lower case
    words: int


@dataclass(frozen=True)
class LanguageChoice:
    language: str
    reason: str  # DETECTED, FUNCTION_WORDS or LIST_LIKE


def choose_language(detected: str, signals: TextSignals, analysed: Sequence[str],
                    default: str) -> LanguageChoice:
    """The language whose analysis the text gets. ``detected`` is lingua's choice;
    ``analysed`` the languages douane has a NER model or a name lexicon for, in the policy's
    order; ``default`` the policy's default language."""
    if detected in analysed or not analysed or signals.words < MIN_WORDS:
        return LanguageChoice(detected, DETECTED)
    shares = signals.function_shares
    best_share = max(analysed, key=lambda lang: (shares.get(lang, 0.0),
                                                 signals.confidences.get(lang, 0.0)))
    if (shares.get(best_share, 0.0) >= FUNCTION_WORDS_MIN
            and shares.get(best_share, 0.0) >= shares.get(detected, 0.0) + FUNCTION_WORDS_MARGIN):
        return LanguageChoice(best_share, FUNCTION_WORDS)
    if (signals.lowercase_share < LIST_LIKE_BELOW
            and shares.get(detected, 0.0) < LIST_FUNCTION_WORDS_BELOW):
        return LanguageChoice(_likeliest(signals, analysed, default), LIST_LIKE)
    return LanguageChoice(detected, DETECTED)


def _likeliest(signals: TextSignals, analysed: Sequence[str], default: str) -> str:
    """The analysed language a list most likely belongs to: the one with the most function
    words, then lingua's most confident one, then the default language, then the first."""
    shares = signals.function_shares
    top_share = max(shares.get(lang, 0.0) for lang in analysed)
    if top_share > 0.0:
        tied = [lang for lang in analysed if shares.get(lang, 0.0) == top_share]
        if len(tied) == 1:
            return tied[0]
    else:
        tied = list(analysed)
    confident = max(tied, key=lambda lang: signals.confidences.get(lang, 0.0))
    if signals.confidences.get(confident, 0.0) >= CONFIDENCE_FLOOR:
        return confident
    return default if default in tied else tied[0]


def text_signals(words: Sequence[str], confidences: Mapping[str, float],
                 function_words: Mapping[str, frozenset[str]]) -> TextSignals:
    """The signals of a text cut into ``words`` (letters only), ``function_words`` per
    language in lower case."""
    folded = [word.casefold() for word in words]
    count = len(folded)
    shares = {lang: (sum(word in listed for word in folded) / count if count else 0.0)
              for lang, listed in function_words.items()}
    lowercase = sum(word.islower() for word in words) / count if count else 0.0
    return TextSignals(dict(confidences), shares, lowercase, count)
