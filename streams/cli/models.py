"""``douane models fetch corenlp``: files a detection tier needs that douane does not ship."""

from __future__ import annotations

import argparse

from streams.cli import Commands
from streams.config import Settings


def register(commands: Commands) -> None:
    models = commands.add_parser(
        "models", help="fetch the files of an optional detection tier (not shipped with douane)")
    models_commands = models.add_subparsers(dest="models_command", required=True,
                                            metavar="WHAT")
    fetch = models_commands.add_parser(
        "fetch",
        help="fetch Stanford CoreNLP's CRF NER for DOUANE_EN_NER / DOUANE_ES_NER (GPL v3+) "
             "from Maven Central, sha256-pinned, into DOUANE_CORENLP_DIR")
    fetch.add_argument("model", choices=["corenlp"])
    fetch.add_argument("--languages", default="en,es",
                       help="the classifiers to fetch (comma-separated; default en,es)")
    fetch.set_defaults(run=run_fetch)


def run_fetch(args: argparse.Namespace, settings: Settings) -> int:
    from streams.adapters.recognizers.corenlp_ner import fetch

    languages = [lang.strip() for lang in args.languages.split(",") if lang.strip()]
    home = settings.ner_tiers.corenlp_dir
    print("Stanford CoreNLP is licensed under the GNU GPL v3 or later: whoever distributes "
          "these files (an image, an offline bundle) must ship the licence and offer the "
          "source (docs/operations.md).")
    fetch(home, languages)
    return 0
