"""``douane bench pii``: detection quality and speed (``streams/devtools/bench/``)."""

from __future__ import annotations

import argparse

from streams.cli import Commands
from streams.config import Settings


def register(commands: Commands) -> None:
    from streams.devtools.bench.pii import add_arguments

    bench = commands.add_parser("bench", help="measure detection quality and speed")
    bench_commands = bench.add_subparsers(dest="bench_command", required=True, metavar="WHAT")
    pii = bench_commands.add_parser(
        "pii", help="precision/recall/F2 per entity and language, prompts/s, p50/p99")
    add_arguments(pii)
    pii.set_defaults(run=run_pii)
    from streams.devtools.bench.phone_load import add_arguments as phone_arguments

    phones = bench_commands.add_parser(
        "phones", help="a generated load of phone numbers in every common format: how many leak")
    phone_arguments(phones)
    phones.set_defaults(run=run_phones)
    from streams.devtools.bench.dates_addresses import add_arguments as dates_arguments

    dates = bench_commands.add_parser(
        "dates-addresses",
        help="dates of birth and street addresses from Faker (en, fr, es, uk, is): recall, "
             "precision, leaks, false positives on dates and address-like text")
    dates_arguments(dates)
    dates.set_defaults(run=run_dates_addresses)
    from streams.devtools.bench.planted import add_arguments as planted_arguments

    planted = bench_commands.add_parser(
        "planted",
        help="a generated load of names of many origins, e-mails, IBANs and phone numbers in "
             "English and French prompts, through the shipped policy: how many leak")
    planted_arguments(planted)
    planted.set_defaults(run=run_planted)
    fetch = bench_commands.add_parser(
        "fetch-corpora",
        help="download the public labelled corpora of `bench pii --third-party` into the cache")
    fetch.add_argument("--from-mirrors", metavar="DIR", default=None,
                       help="read them from local git mirrors (DIR/<owner>+<name>/repo) "
                            "instead of downloading")
    fetch.set_defaults(run=run_fetch_corpora)


def run_pii(args: argparse.Namespace, settings: Settings) -> int:
    from streams.devtools.bench.pii import run_pii_bench

    return run_pii_bench(args, settings)


def run_fetch_corpora(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from streams.devtools.bench import third_party

    root = third_party.cache_dir()
    try:
        third_party.fetch(root, Path(args.from_mirrors) if args.from_mirrors else None)
    except third_party.CorpusMissing as error:
        print(f"douane bench fetch-corpora: {error}")
        return 1
    print(f"corpora in {root} (files digest {third_party.fingerprint(root)})")
    return 0


def run_phones(args: argparse.Namespace, settings: Settings) -> int:
    from streams.devtools.bench.phone_load import run_phone_load

    return run_phone_load(args, settings)


def run_dates_addresses(args: argparse.Namespace, settings: Settings) -> int:
    from streams.devtools.bench.dates_addresses import run

    return run(args, settings)


def run_planted(args: argparse.Namespace, settings: Settings) -> int:
    from streams.devtools.bench.planted import run

    return run(args, settings)
