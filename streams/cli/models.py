"""``douane models fetch corenlp``, ``douane models build en-web-ner``: files a detection tier
needs that douane does not ship."""

from __future__ import annotations

import argparse
from pathlib import Path

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
    build = models_commands.add_parser(
        "build",
        help="train the English web-writing NER of DOUANE_EN_WEB_NER (WNUT-17 train and the "
             "Broad Twitter Corpus, CC BY 4.0, sha256-pinned) into DOUANE_EN_WEB_NER_DIR; "
             "about 9 CPU minutes (10 epochs; at most 15)")
    build.add_argument("model", choices=["en-web-ner"])
    build.add_argument("--mirrors", type=Path, default=None,
                       help="read the corpora from local bare git mirrors "
                            "(<dir>/<owner>+<name>/repo) instead of GitHub")
    build.add_argument("--seed", type=int, default=None, help="training seed (default 1)")
    build.add_argument("--epochs", type=int, default=None,
                       help="the most epochs to train (default 10)")
    build.add_argument("--cpu-minutes", type=float, default=None,
                       help="stop after the epoch that passes this much CPU time (default 15)")
    build.add_argument("--out", type=Path, default=None,
                       help="the model directory (default DOUANE_EN_WEB_NER_DIR)")
    build.set_defaults(run=run_build)


def run_fetch(args: argparse.Namespace, settings: Settings) -> int:
    from streams.adapters.recognizers.corenlp_ner import fetch

    languages = [lang.strip() for lang in args.languages.split(",") if lang.strip()]
    home = settings.ner_tiers.corenlp_dir
    print("Stanford CoreNLP is licensed under the GNU GPL v3 or later: whoever distributes "
          "these files (an image, an offline bundle) must ship the licence and offer the "
          "source (docs/operations.md).")
    fetch(home, languages)
    return 0


def run_build(args: argparse.Namespace, settings: Settings) -> int:
    from streams.devtools import train_ner

    target = (args.out or settings.ner_tiers.en_web_dir).resolve()
    print("Training data: WNUT-17 train and the Broad Twitter Corpus, CC BY 4.0: whoever "
          "distributes the model must give their attribution (in its manifest.json; "
          "docs/operations.md).")
    result = train_ner.build_from_sources(
        target, args.mirrors,
        seed=train_ner.SEED if args.seed is None else args.seed,
        max_epochs=args.epochs or train_ner.MAX_EPOCHS,
        cpu_minutes=args.cpu_minutes or train_ner.CPU_MINUTES,
        progress=lambda line: print(line, flush=True))
    print(f"built {result.model_dir}: turn it on with DOUANE_EN_WEB_NER=trained (or "
          f"trained-candidates: three quarters of the gain for less CPU; trained-unsure)")
    return 0
