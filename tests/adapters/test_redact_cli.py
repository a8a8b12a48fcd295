"""``douane redact`` as a security team uses it: plain text in, redacted text out; JSON lines
in, findings with offsets into the original text out."""

from __future__ import annotations

import json
import subprocess
import sys

from streams.config import project_root


def redact(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "streams.cli", "redact", *args],
                          input=stdin, capture_output=True, text=True, timeout=120,
                          cwd=project_root())


def test_plain_text_is_redacted() -> None:
    done = redact("--language", "fr", stdin="Prépare une réponse à Lucie Fontaine "
                  "(lucie.fontaine@example.fr), NIR 2 69 05 49 588 157 80.")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("Prépare une réponse à <PERSON_1> (<EMAIL_ADDRESS_1>), "
                           "NIR <FR_NIR_1>.")


def test_json_lines_give_offsets_into_the_original_text() -> None:
    lines = [
        {"text": "Write to Jeanne Martin at jeanne@example.fr.", "language": "en"},
        {"text": "Напишіть лист для Олени Коваленко, РНОКПП 3456789014."},
        {"text": "Skrifaðu til Jóns Sigurðssonar, kt. 120174-3399.", "language": "is"},
    ]
    done = redact("--jsonl", stdin="\n".join(json.dumps(x, ensure_ascii=False) for x in lines))
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["language"] for r in results] == ["en", "uk", "is"]
    assert [r["detection"] for r in results] == [
        "ner+patterns", "patterns+name-lexicon+ner", "patterns+name-lexicon"]
    for line, result in zip(lines, results, strict=True):
        found = {(f["type"], line["text"][f["start"] : f["end"]]) for f in result["findings"]}
        assert all(value not in result["text"] for _, value in found)
        assert found  # something personal in every line
    assert {t for t, _ in [(f["type"], 0) for f in results[1]["findings"]]} == {
        "PERSON", "UA_RNOKPP"}
    assert results[0]["text"] == "Write to <PERSON_1> at <EMAIL_ADDRESS_1>."


def test_a_line_that_is_not_json_is_named() -> None:
    done = redact("--jsonl", stdin='{"text": "ok"}\nnot json\n')
    assert done.returncode == 2
    assert "line 2" in done.stderr
