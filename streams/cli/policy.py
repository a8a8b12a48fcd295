"""``douane policy validate|test|explain|diff``: what a security team runs before a rollout.

Exit codes: 0 all good, 1 a check failed (invalid policy, failing case), 2 bad usage or input.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streams.adapters.policy_files import display, load_policy_set, read_cases
from streams.adapters.policy_reload import same_version_problem
from streams.cli import Commands
from streams.config import Settings
from streams.core.decision import Decision
from streams.core.loaded_policy import LoadedPolicy
from streams.core.policy import PolicyError
from streams.core.policy_cases import (
    Case,
    CaseFileError,
    CaseResult,
    Detect,
    decided_settings,
    not_exercised,
    run_case,
)
from streams.core.replay import replay

if TYPE_CHECKING:
    from streams.adapters.audit.protocols import StoredRecord


def register(commands: Commands) -> None:
    policy = commands.add_parser("policy", help="validate, test, explain and diff policy sets")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True,
                                            metavar="ACTION")
    validate = policy_commands.add_parser(
        "validate", help="check a policy set: schema, references, unreachable rules")
    validate.add_argument("path", nargs="?", help="policy folder or file (default: DOUANE_POLICY)")
    validate.add_argument(
        "--running", metavar="PATH|audit",
        help="the set the workers run now - a policy folder or file, or 'audit' for the last "
             "one a worker loaded according to the audit log: a changed set must have a new "
             "version (a worker refuses it otherwise)")
    validate.add_argument("--audit-db", help="with --running audit: the audit database "
                                             "(default: DOUANE_AUDIT_DB)")
    test = policy_commands.add_parser(
        "test", help="run the YAML test cases in PATH/tests/ (and show which rules no case "
                     "exercises)")
    test.add_argument("path", nargs="?", help="policy folder or file (default: DOUANE_POLICY)")
    test.add_argument("--run", metavar="REGEX", dest="run_pattern",
                      help="only the cases whose name matches this regular expression")
    test.add_argument("-v", "--verbose", action="store_true",
                      help="every case, with the rules that decided it and what each decided")
    test.add_argument("--format", choices=("text", "json", "junit"), default="text",
                      help="text (default), json, or JUnit XML for CI")
    explain = policy_commands.add_parser("explain", help="explain the decision for one request")
    explain.add_argument("request", help="a request as JSON (as on douane.requests), or a test "
                                         "case {request, entities, unavailable}")
    explain.add_argument("--policy", help="policy folder or file (default: DOUANE_POLICY)")
    diff = policy_commands.add_parser(
        "diff", help="which test cases and recorded decisions a new policy set would change; "
                     "with --shadow, where the shadow set decided differently on live traffic")
    diff.add_argument("old", nargs="?", help="the policy set in force (folder or file)")
    diff.add_argument("new", nargs="?", help="the policy set to roll out")
    diff.add_argument("--shadow", action="store_true",
                      help="instead of OLD and NEW: the decisions a shadow set "
                           "(DOUANE_POLICY_SHADOW) recorded next to the set in force, and "
                           "where they differ")
    diff.add_argument("--audit-db", help="audit database to read (default: DOUANE_AUDIT_DB)")
    diff.add_argument("--no-audit", action="store_true", help="compare test cases only")
    diff.add_argument("--limit", type=int, default=50, help="changed records to list")
    policy.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    default = settings.policy_path
    if args.policy_command == "validate":
        return run_validate(Path(args.path) if args.path else default, args.running,
                            Path(args.audit_db) if args.audit_db else settings.audit_db)
    if args.policy_command == "test":
        return run_test(Path(args.path) if args.path else default, args.run_pattern, args.verbose,
                        args.format)
    if args.policy_command == "explain":
        return run_explain(Path(args.request), Path(args.policy) if args.policy else default)
    audit_db = None if args.no_audit else (
        Path(args.audit_db) if args.audit_db else settings.audit_db)
    if args.shadow:
        if args.old or args.new or audit_db is None:
            print("policy diff --shadow reads the audit log only: give no OLD/NEW and no "
                  "--no-audit")
            return 2
        return run_shadow_diff(audit_db, args.limit)
    if not args.old or not args.new:
        print("policy diff needs OLD and NEW policy sets (or --shadow)")
        return 2
    return run_diff(Path(args.old), Path(args.new), audit_db, args.limit)


def _load(path: Path, what: str = "policy") -> LoadedPolicy | None:
    try:
        return load_policy_set(path)
    except PolicyError as error:  # the command's finding, on stdout; said as every error is
        print(f"{what} {display(path)}: {error.diagnostics()}")
        return None


def run_validate(path: Path, running: str | None = None, audit_db: Path | None = None) -> int:
    loaded = _load(path)
    if loaded is None:
        return 1
    policy = loaded.policy
    print(f"{display(path)}: valid - policy '{policy.policy}' v{policy.version}, "
          f"sha256 {loaded.digest}")
    print(f"  {len(loaded.files)} file(s), {len(policy.providers)} providers, "
          f"{len(policy.tenants)} tenants, {len(policy.purposes)} purposes, "
          f"{len(policy.rules)} rules")
    if loaded.warnings:
        print(f"  {len(loaded.warnings)} warning(s):")
        for warning in loaded.warnings:
            print(f"    {warning}")
    if running is None:
        return 0
    found = _running_reference(running, audit_db)
    if found is None:
        return 2
    reference, where = found
    print(f"  running: {_named(reference)} ({where})")
    problem = same_version_problem(reference, loaded.reference, loaded.source)
    if problem is not None:
        print(f"{display(path)}: cannot be rolled out: {problem}")
        return 1
    return 0


def _running_reference(running: str, audit_db: Path | None) -> tuple[dict[str, Any], str] | None:
    """The reference of the set in force: from a policy set on disk, or from the last
    ``loaded``/``applied`` record of the audit log."""
    if running != "audit":
        other = _load(Path(running), "running policy")
        return None if other is None else (other.reference, display(Path(running)))
    from streams.adapters.audit.sqlite import open_sqlite_reader

    if audit_db is None or not audit_db.exists():
        print(f"--running audit: no audit database at {audit_db}")
        return None
    reader = open_sqlite_reader(audit_db)
    latest: dict[str, Any] | None = None
    try:
        for record in reader.iter_records():
            details = record.payload.get("details") or {}
            if record.kind == "policy_changed" and details.get("event") in ("loaded", "applied"):
                latest = {"reference": details.get("policy") or {},
                          "at": record.payload.get("occurred_at")}
    finally:
        reader.close()
    if latest is None:
        print(f"--running audit: no worker has recorded loading a policy in {display(audit_db)}")
        return None
    return latest["reference"], f"in force since {latest['at']} per {display(audit_db)}"


class _LazyDetector:
    """The real detector, started only if a case or request declares no entities."""

    def __init__(self, loaded: LoadedPolicy) -> None:
        self.loaded = loaded
        self._detector: Any = None

    def __call__(self, messages: Any, language: str | None, *, tiers: bool = True) -> Any:
        if self._detector is None:
            from streams.adapters.presidio_detector import detector_for_policy

            print("  (starting the personal-data detector for cases without 'entities')",
                  file=sys.stderr)  # stdout may be a JSON or JUnit report
            self._detector = detector_for_policy(self.loaded.policy)
        return self._detector.detect(messages, language, tiers)


def run_test(path: Path, pattern: str | None = None, verbose: bool = False,
             output: str = "text") -> int:
    loaded = _load(path)
    if loaded is None:
        return 1
    cases, errors = read_cases(path)
    if pattern is not None:
        try:
            selected = re.compile(pattern)
        except re.error as error:
            print(f"--run: '{pattern}' is not a regular expression ({error})", file=sys.stderr)
            return 2
        cases = [case for case in cases if selected.search(case.name)]
    if not cases and not errors:
        print(f"no test cases{f' matching {pattern!r}' if pattern else ''} found in "
              f"{display(path)}/tests/*.yaml", file=sys.stderr)
        return 1
    detect: Detect = _LazyDetector(loaded)
    results = [run_case(case, loaded, detect) for case in cases]
    uncovered = not_exercised(loaded, results)
    report = {"json": _test_json, "junit": _test_junit, "text": _test_text}[output]
    print(report(loaded, results, errors, uncovered, verbose))
    failed = sum(1 for result in results if not result.passed)
    return 0 if failed == 0 and not errors else 1


def _test_text(loaded: LoadedPolicy, results: list[CaseResult], errors: list[str],
               uncovered: list[int], verbose: bool) -> str:
    lines = [f"ERROR {error}" for error in errors]
    for result in results:
        if result.passed and not verbose:
            lines.append(f"PASS {result.case.label}")
            continue
        lines.append(f"{'PASS' if result.passed else 'FAIL'} {result.case.label}")
        if not result.passed:
            lines.extend(f"     {line}" for line in result.diff())
        if verbose:
            lines.extend(f"     rule {loaded.rule_label(index)}: {', '.join(settings)}"
                         for index, settings in decided_settings(result))
        if result.decision is not None and (verbose or not result.passed):
            lines.extend(f"     reason {reason.code}: {reason.message}"
                         for reason in result.decision.reasons)
    failed = sum(1 for result in results if not result.passed)
    rules = loaded.policy.rules
    lines.append("")
    lines.append(f"coverage: {len(rules) - len(uncovered)} of {len(rules)} rules decided "
                 "something in at least one case" + (":" if uncovered else ""))
    lines.extend(f"  not exercised by any case: {loaded.rule_label(index)}" for index in uncovered)
    lines.append(f"\n{len(results) - failed} passed, {failed} failed, {len(errors)} file "
                 f"error(s) - policy '{loaded.policy.policy}' v{loaded.policy.version} "
                 f"(sha256 {loaded.digest[:12]}...)")
    return "\n".join(lines)


def _case_json(loaded: LoadedPolicy, result: CaseResult) -> dict[str, Any]:
    case = result.case
    return {
        "name": case.name, "file": case.file, "line": case.line, "passed": result.passed,
        "error": result.error,
        "differs": [] if result.passed else result.failed_keys(),
        "diff": [] if result.passed else result.diff(),
        "actual": {key: result.actual.get(key) for key in case.expect},
        "rules": [{"rule": loaded.policy.rules[index].id, "where": loaded.rule_label(index),
                   "decided": settings} for index, settings in decided_settings(result)],
        "reasons": [r.as_json() for r in result.decision.reasons] if result.decision else [],
    }


def _test_json(loaded: LoadedPolicy, results: list[CaseResult], errors: list[str],
               uncovered: list[int], verbose: bool) -> str:
    failed = sum(1 for result in results if not result.passed)
    rules = loaded.policy.rules
    return json.dumps({
        "policy": loaded.reference,
        "summary": {"cases": len(results), "passed": len(results) - failed, "failed": failed,
                    "file_errors": len(errors)},
        "file_errors": errors,
        "cases": [_case_json(loaded, result) for result in results],
        "coverage": {"rules": len(rules), "exercised": len(rules) - len(uncovered),
                     "not_exercised": [{"rule": rules[i].id, "where": loaded.rule_label(i)}
                                       for i in uncovered]},
    }, ensure_ascii=False, indent=2)


def _test_junit(loaded: LoadedPolicy, results: list[CaseResult], errors: list[str],
                uncovered: list[int], verbose: bool) -> str:
    """JUnit XML as CI systems read it: a suite per test file, a case per test case; a case
    that could not run (a typo in its ``expect``) is an error, a wrong decision a failure."""
    from xml.etree import ElementTree

    failed = sum(1 for result in results if not result.passed and result.error is None)
    broken = sum(1 for result in results if result.error is not None) + len(errors)
    root = ElementTree.Element("testsuites", {
        "name": f"douane policy test: {loaded.policy.policy} v{loaded.policy.version} "
                f"(sha256 {loaded.digest[:12]}...)",
        "tests": str(len(results) + len(errors)), "failures": str(failed),
        "errors": str(broken)})
    suites: dict[str, ElementTree.Element] = {}
    for result in results:
        case = result.case
        suite = suites.get(case.file)
        if suite is None:
            suite = suites[case.file] = ElementTree.SubElement(root, "testsuite",
                                                               {"name": case.file})
        element = ElementTree.SubElement(suite, "testcase", {
            "name": case.name, "classname": case.file, "file": case.file,
            "line": str(case.line)})
        if result.error is not None:
            ElementTree.SubElement(element, "error", {"message": result.error}).text = \
                result.error
        elif not result.passed:
            reasons = [f"reason {r.code}: {r.message}"
                       for r in (result.decision.reasons if result.decision else ())]
            ElementTree.SubElement(element, "failure", {
                "message": f"expectations differ: {', '.join(result.failed_keys())}"}).text = \
                "\n".join(result.diff() + reasons)
    if errors:
        suite = ElementTree.SubElement(root, "testsuite", {"name": "test files"})
        for error in errors:
            element = ElementTree.SubElement(suite, "testcase", {
                "name": error.split(": ", 1)[0], "classname": "test files"})
            ElementTree.SubElement(element, "error", {"message": error}).text = error
    for suite in suites.values():
        cases = suite.findall("testcase")
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
        suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
    # coverage: a suite without cases whose properties name the rules no case exercises
    # (properties belong to a suite in the JUnit schema)
    coverage = ElementTree.SubElement(root, "testsuite", {
        "name": "coverage", "tests": "0", "failures": "0", "errors": "0"})
    properties = ElementTree.SubElement(coverage, "properties")
    for index in uncovered:
        ElementTree.SubElement(properties, "property", {
            "name": "not-exercised-rule", "value": loaded.rule_label(index)})
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True)


# ------------------------------------------------------------------------------- explain

def run_explain(request_path: Path, policy_path: Path) -> int:
    loaded = _load(policy_path)
    if loaded is None:
        return 1
    try:
        raw = json.loads(request_path.read_text("utf-8"))
        document = raw if "request" in raw else {"request": raw, "expect": {}}
        document.setdefault("expect", {})
        from streams.core.policy_cases import _request

        case = Case(display(request_path), 1, "explain",
                    _request(_with_text(document["request"]), "explain", str(request_path)),
                    document.get("entities"), tuple(document.get("unavailable") or ()), {},
                    dict(document.get("detection") or {}))
    except (OSError, ValueError, KeyError, TypeError, CaseFileError) as error:
        print(f"explain: cannot read {request_path}: {type(error).__name__}: {error}")
        return 2
    result = run_case(case, loaded, _LazyDetector(loaded))
    if result.decision is None:
        print(f"explain: {result.error}")
        return 2
    for line in explain_lines(result):
        print(line)
    return 0


def _with_text(request: dict[str, Any]) -> dict[str, Any]:
    if "messages" in request:
        request = {**request, "messages": [m for m in request["messages"]
                                           if isinstance(m, dict)]}
    return request


def explain_lines(result: CaseResult) -> Iterator[str]:
    decision = result.decision
    assert decision is not None and decision.verdict is not None
    loaded, verdict, request = decision.policy, decision.verdict, decision.request
    yield (f"policy '{loaded.policy.policy}' v{loaded.policy.version} "
           f"(sha256 {loaded.digest[:12]}...)")
    yield (f"request {request.id}: tenant {request.tenant}, purpose {request.purpose or '-'}, "
           f"classification {request.classification or '(default)'} -> "
           f"{decision.classification}, model {request.model or '(default)'}")
    yield f"decision: {decision.outcome.upper()}"
    resolution = verdict.resolution
    if resolution is not None:
        yield "rules, in order:"
        for index in resolution.matched:
            settings = resolution.settings_of(index)
            what = f"decided {', '.join(settings)}" if settings else \
                "matched, but every setting it has was already decided above"
            yield f"  {loaded.rule_label(index)}: {what}"
        if not resolution.matched:
            yield "  (no rule matches)"
        deciding = resolution.decided_by.get("detection")
        yield (f"detection: {resolution.detection} ("
               + (f"rule {loaded.rule_label(deciding)}" if deciding is not None
                  else "built-in default")
               + ("): the first pass only, no opt-in tier" if resolution.detection == "fast"
                  else "): the opt-in tiers this deployment runs, if any"))
    if decision.provider is not None:
        yield (f"provider: {decision.provider.id} (jurisdiction {decision.provider.jurisdiction}"
               f", {decision.provider.hosting}), model {decision.model}")
        if decision.fallbacks:
            yield f"fallbacks if it is down: {', '.join(p.id for p in decision.fallbacks)}"
    for exclusion in verdict.exclusions:
        yield f"  {exclusion}"
    if verdict.findings:
        yield "entities:"
        counts: dict[str, int] = {}
        for finding in verdict.findings:
            counts[finding.entity_type] = counts.get(finding.entity_type, 0) + 1
        for kind, count in sorted(counts.items()):
            rule = resolution.decided_by.get(f"redaction.{kind}") if resolution else None
            where = loaded.rule_label(rule) if rule is not None else "?"
            yield f"  {kind} x{count}: {verdict.operators[kind]} (rule {where})"
    yield "reasons:"
    for reason in decision.reasons:
        yield f"  {reason.code}: {reason.message}"
    if decision.outcome == "forward":
        yield "what leaves:"
        for message in decision.forwarded_messages:
            yield f"  [{message.role}] {message.content}"


# ---------------------------------------------------------------------------------- diff

def run_diff(old_path: Path, new_path: Path, audit_db: Path | None, limit: int) -> int:
    old, new = _load(old_path, "old policy"), _load(new_path, "new policy")
    if old is None or new is None:
        return 2
    print(f"OLD: {_named(old.reference)} from {display(old_path)}")
    print(f"NEW: {_named(new.reference)} from {display(new_path)}")
    if old.digest == new.digest:
        print("the two policy sets are identical (same hash): nothing can change")
        return 0
    changed_cases = _diff_cases(old_path, new_path, old, new)
    changed_records = _diff_records(audit_db, old, new, limit) if audit_db is not None \
        else None
    print()
    print(f"summary: {changed_cases} test case(s) change outcome"
          + ("" if changed_records is None
             else f", {changed_records[0]} of {changed_records[1]} recorded request(s) would "
                  "be decided differently by NEW than by OLD"))
    return 0


def _outcome(decision: Decision) -> dict[str, Any]:
    verdict = decision.verdict
    return {"decision": decision.outcome,
            "provider": decision.provider.id if decision.provider else None,
            "model": decision.model,
            "operators": dict(sorted(verdict.operators.items())) if verdict else {},
            "reasons": [r.code for r in decision.reasons],
            "detection": verdict.resolution.detection
            if verdict is not None and verdict.resolution is not None else None}


def _diff_cases(old_path: Path, new_path: Path, old: LoadedPolicy, new: LoadedPolicy) -> int:
    cases: dict[tuple[str, str], Case] = {}
    for path in (old_path, new_path):  # the new set's version of a case wins
        found, errors = read_cases(path)
        for error in errors:
            print(f"ERROR {error}")
        for case in found:
            cases[(Path(case.file).name, case.name)] = case
    print(f"\ntest cases ({len(cases)}), run under OLD and under NEW:")
    changed = 0
    detect_old, detect_new = _LazyDetector(old), _LazyDetector(new)
    for case in cases.values():
        before, after = run_case(case, old, detect_old), run_case(case, new, detect_new)
        if before.decision is None or after.decision is None:
            print(f"  ERROR {case.label}: {before.error or after.error}")
            continue
        a, b = _outcome(before.decision), _outcome(after.decision)
        if a != b:
            changed += 1
            print(f"  CHANGED {case.label}")
            for key in a:
                if a[key] != b[key]:
                    print(f"     {key}: {json.dumps(a[key])} -> {json.dumps(b[key])}")
            if after.passed is False and before.passed:
                print("     (passes with the old policy, fails its expectations with the new)")
    if not changed:
        print("  no test case changes outcome")
    return changed


def _replayed(loaded: LoadedPolicy, details: dict[str, Any], tenant: str) -> dict[str, Any]:
    verdict = replay(loaded, details, tenant)
    return {"decision": verdict.outcome, "classification": verdict.classification,
            "provider": verdict.provider.id if verdict.provider else None,
            "operators": dict(sorted(verdict.operators.items())),
            "reasons": [r.code for r in verdict.reasons]}


COMPARED = ("decision", "classification", "provider", "operators")  # of two decisions


def _print_decided_otherwise(indent: str, record: StoredRecord, context: str,
                             before: tuple[str, Mapping[str, Any]],
                             after: tuple[str, Mapping[str, Any]], changed: list[str]) -> None:
    """A recorded request two policy sets decide otherwise: the decisions and providers on one
    line (each labelled), then every other compared field that changed."""
    (before_label, was), (after_label, now) = before, after
    print(f"{indent}{record.request_id} ({record.payload.get('occurred_at')}, {context}): "
          f"{before_label}{was.get('decision')} via {was.get('provider') or '-'} -> "
          f"{after_label}{now.get('decision')} via {now.get('provider') or '-'} "
          f"[{', '.join(now.get('reasons') or [])}]")
    for key in changed:
        if key not in ("decision", "provider"):
            print(f"{indent}   {key}: {json.dumps(was.get(key))} -> {json.dumps(now.get(key))}")


def _diff_records(audit_db: Path, old: LoadedPolicy, new: LoadedPolicy,
                  limit: int) -> tuple[int, int]:
    """Each recorded request, replayed from its metadata under OLD and under NEW: the two
    replays are compared with each other, never with what was recorded (the set that
    recorded it may be neither of them, and it is named by its hash)."""
    from streams.adapters.audit.sqlite import open_sqlite_reader

    print(f"\nrecorded requests ({display(audit_db)}), replayed under OLD and under NEW:")
    if not audit_db.exists():
        print("  no audit database there")
        return 0, 0
    reader = open_sqlite_reader(audit_db)
    seen = changed = 0
    recorded_by: dict[str, int] = {}
    try:
        for record in reader.iter_records():
            details = record.payload.get("details") or {}
            if record.kind not in ("admitted", "blocked") or "classification" not in details \
                    or record.tenant is None:
                continue  # rejected, detector failures: not decided by a policy
            seen += 1
            recorder = details.get("policy") or {}
            label = _recorder(recorder, old, new)
            recorded_by[label] = recorded_by.get(label, 0) + 1
            before = _replayed(old, details, record.tenant)
            after = _replayed(new, details, record.tenant)
            differs = [k for k in COMPARED if before[k] != after[k]]
            if not differs:
                continue
            changed += 1
            if changed <= limit:
                _print_decided_otherwise("  ", record, f"{record.tenant}, recorded under {label}",
                                         ("OLD ", before), ("NEW ", after), differs)
    finally:
        reader.close()
    if changed > limit:
        print(f"  ... and {changed - limit} more")
    if not changed:
        print(f"  none of {seen} recorded request(s) would be decided differently")
    if recorded_by:
        print("  recorded under: " + "; ".join(f"{label}: {count}"
                                               for label, count in recorded_by.items()))
    return changed, seen


def _recorder(reference: dict[str, Any], old: LoadedPolicy, new: LoadedPolicy) -> str:
    sha = str(reference.get("sha256"))
    if sha == old.digest:
        return f"OLD (sha256 {sha[:12]}...)"
    if sha == new.digest:
        return f"NEW (sha256 {sha[:12]}...)"
    return f"another set, {_named(reference)}"


# --------------------------------------------------------------------------- shadow diff

def run_shadow_diff(audit_db: Path, limit: int) -> int:
    """Where the shadow set would have decided otherwise than the set in force, from the
    ``shadow`` part of the decision records (live traffic; nothing is re-judged)."""
    from streams.adapters.audit.sqlite import open_sqlite_reader

    print(f"shadow decisions recorded in {display(audit_db)}:")
    if not audit_db.exists():
        print("  no audit database there")
        return 2
    pairs: dict[tuple[str, str], dict[str, Any]] = {}  # (in force, shadow) sha256 -> summary
    reader = open_sqlite_reader(audit_db)
    try:
        for record in reader.iter_records():
            details = record.payload.get("details") or {}
            shadow = details.get("shadow")
            if record.kind not in ("admitted", "blocked") or not isinstance(shadow, dict):
                continue
            enforced = details.get("policy") or {}
            key = (str(enforced.get("sha256")), str((shadow.get("policy") or {}).get("sha256")))
            pair = pairs.setdefault(key, {"in_force": enforced, "shadow": shadow.get("policy"),
                                          "seen": 0, "differ": [], "errors": 0})
            pair["seen"] += 1
            if "error" in shadow:
                pair["errors"] += 1
                continue
            changed = [k for k in COMPARED if details.get(k) != shadow.get(k)]
            if changed:
                pair["differ"].append((record, details, shadow, changed))
    finally:
        reader.close()
    if not pairs:
        print("  no decision was judged in shadow (start a worker with DOUANE_POLICY_SHADOW)")
        return 0
    for pair in pairs.values():
        print(f"\n  in force: {_named(pair['in_force'])}")
        print(f"  shadow:   {_named(pair['shadow'])}")
        print(f"  {len(pair['differ'])} of {pair['seen']} decision(s) would have been different"
              + (f"; {pair['errors']} the shadow set could not judge" if pair["errors"] else ""))
        for record, details, shadow, changed in pair["differ"][:limit]:
            _print_decided_otherwise("    ", record, str(record.tenant), ("", details),
                                     ("", shadow), changed)
        if len(pair["differ"]) > limit:
            print(f"    ... and {len(pair['differ']) - limit} more")
    return 0


def _named(reference: Any) -> str:
    """A policy set by its hash first (what identifies it), then its name and version."""
    if not isinstance(reference, dict):
        return "(unknown)"
    return (f"sha256 {str(reference.get('sha256'))[:12]}... ('{reference.get('name')}' "
            f"v{reference.get('version')})")
