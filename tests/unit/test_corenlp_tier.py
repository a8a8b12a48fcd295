"""CoreNLP's opt-in tier without a JVM: its settings, the sentences it reads, how its answers
are parsed, and the fetch (sha256 pins, byte ranges or the whole jar, nothing half-written)
against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from streams.adapters.recognizers import corenlp_ner
from streams.adapters.recognizers.corenlp_ner import (
    Classifier,
    CoreNlpUnavailableError,
    CrfEntity,
    _parse,
    check_available,
    fetch,
)
from streams.adapters.recognizers.slovnet_ner import unsure_sentences
from streams.config import NerTiers, SettingError, load_ner_tiers, load_settings

# ----------------------------------------------------------------------------- settings


def test_the_tiers_default_to_off_for_english_and_spanish(tmp_path: Path) -> None:
    tiers = load_ner_tiers({"DOUANE_CACHE": str(tmp_path)})
    assert (tiers.uk, tiers.en, tiers.es) == ("slovnet-unsure", "off", "off")
    assert tiers.corenlp_dir == tmp_path / "corenlp"
    assert tiers.corenlp_languages() == ()


def test_the_tiers_are_read_into_the_settings(tmp_path: Path) -> None:
    settings = load_settings({"DOUANE_EN_NER": "corenlp-unsure", "DOUANE_ES_NER": "corenlp",
                              "DOUANE_UK_NER": "off",
                              "DOUANE_CORENLP_DIR": str(tmp_path / "cnlp")})
    assert settings.ner_tiers == NerTiers("off", "corenlp-unsure", "corenlp", tmp_path / "cnlp")
    assert settings.ner_tiers.corenlp_languages() == ("en", "es")


@pytest.mark.parametrize("name", ["DOUANE_EN_NER", "DOUANE_ES_NER", "DOUANE_UK_NER"])
def test_an_unknown_mode_names_the_setting_and_the_choices(name: str) -> None:
    with pytest.raises(SettingError, match=rf"{name}='stanza' must be one of: .*off"):
        load_ner_tiers({name: "stanza"})


# ----------------------------------------------------------------------------- what it reads


def test_only_sentences_with_an_uncovered_capitalised_word_inside_are_read() -> None:
    text = ("Send it today. The file of Ana Ruiz is here. Call Bob Stone now. "
            "Nothing else.")
    ana = text.index("Ana Ruiz")
    covered = [(ana, ana + len("Ana Ruiz"))]
    pieces = unsure_sentences([text], [covered])
    # the first sentence has no capitalised word but its first, Ana's is covered, Bob's not
    assert [text[start:end].strip() for _, start, end in pieces] == ["Call Bob Stone now."]
    assert unsure_sentences([text, "plain words only"], [[], []])[0][0] == 0
    assert len(unsure_sentences([text], [[]])) == 2


def test_each_text_of_a_batch_keeps_its_own_offsets() -> None:
    texts = ["Hello there. Then Zoe came.", "Alors Zoé vint."]
    pieces = unsure_sentences(texts, [[], []])
    assert [(t, texts[t][start:end]) for t, start, end in pieces] == [
        (0, " Then Zoe came."), (1, "Alors Zoé vint.")]


def test_the_sidecars_answer_is_parsed_in_code_points() -> None:
    assert _parse(b"PERSON 0 10\tLOCATION 22 27\n") == [
        CrfEntity("PERSON", 0, 10), CrfEntity("LOCATION", 22, 27)]
    assert _parse(b"\n") == []


def test_a_tier_without_its_files_names_the_setting_and_the_command(tmp_path: Path) -> None:
    with pytest.raises(CoreNlpUnavailableError) as raised:
        check_available(tmp_path, ["en", "es"])
    message = str(raised.value)
    assert "DOUANE_EN_NER / DOUANE_ES_NER" in message
    assert "douane models fetch corenlp" in message
    assert "stanford-corenlp-4.5.10.jar" in message


# ----------------------------------------------------------------------------- the fetch


class _Maven(http.server.BaseHTTPRequestHandler):
    """Serves ``files`` with or without byte ranges, counting the bytes it sends."""

    files: ClassVar[dict[str, bytes]] = {}
    ranges = True
    sent = 0

    def do_GET(self) -> None:
        body = self.files.get(self.path.rsplit("/", 1)[-1])
        if body is None:
            self.send_error(404)
            return
        wanted = self.headers.get("Range")
        if wanted and self.ranges:
            first, last = (int(x) for x in wanted.removeprefix("bytes=").split("-"))
            last = min(last, len(body) - 1)
            chunk = body[first:last + 1]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {first}-{last}/{len(body)}")
        else:
            chunk = body
            self.send_response(200)
        self.send_header("Content-Length", str(len(chunk)))
        self.end_headers()
        self.wfile.write(chunk)
        type(self).sent += len(chunk)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def maven(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Maven]]:
    """A models jar of 3 MB of other members around a small classifier, and a code jar, with
    their pins put in place of the real ones."""
    classifier = b"a CRF classifier " * 1000
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as jar:
        jar.writestr("edu/other/big.bin", bytes(range(256)) * 6000, zipfile.ZIP_STORED)
        jar.writestr("edu/stanford/nlp/models/ner/test.crf.ser.gz", classifier)
        jar.writestr("edu/other/after.bin", bytes(range(256)) * 6000, zipfile.ZIP_STORED)
    models, code = buffer.getvalue(), b"code jar"
    handler = type("Maven", (_Maven,), {"files": {"models.jar": models, "code.jar": code},
                                        "ranges": True, "sent": 0})
    monkeypatch.setattr(corenlp_ner.RangeFile, "BLOCK", 64 << 10)  # the test jar is small
    monkeypatch.setattr(corenlp_ner, "MAIN_JAR", "code.jar")
    monkeypatch.setattr(corenlp_ner, "MAIN_JAR_SHA256", hashlib.sha256(code).hexdigest())
    monkeypatch.setitem(corenlp_ner.CLASSIFIERS, "en", Classifier(
        "models.jar", hashlib.sha256(models).hexdigest(),
        "edu/stanford/nlp/models/ner/test.crf.ser.gz", hashlib.sha256(classifier).hexdigest()))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}/maven"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


def _fetch(home: Path, url: str) -> list[str]:
    said: list[str] = []
    fetch(home, ["en"], said.append, base_url=url, compile_wrapper=False)
    return said


def test_only_the_classifier_is_read_out_of_the_models_jar(
        maven: type[_Maven], tmp_path: Path) -> None:
    said = _fetch(tmp_path, maven.url)  # type: ignore[attr-defined]
    assert (tmp_path / "ner" / "test.crf.ser.gz").read_bytes() == b"a CRF classifier " * 1000
    assert (tmp_path / "code.jar").read_bytes() == b"code jar"
    assert maven.sent < len(maven.files["models.jar"]) / 2  # not the whole jar
    assert not (tmp_path / "models.jar").exists()
    assert any("by byte ranges" in line for line in said)
    assert sorted(p.name for p in tmp_path.rglob("*.part")) == []


def test_a_server_without_ranges_gives_the_whole_jar_checked(
        maven: type[_Maven], tmp_path: Path) -> None:
    maven.ranges = False
    said = _fetch(tmp_path, maven.url)  # type: ignore[attr-defined]
    assert (tmp_path / "ner" / "test.crf.ser.gz").read_bytes() == b"a CRF classifier " * 1000
    assert (tmp_path / "models.jar").read_bytes() == maven.files["models.jar"]
    assert any("does not serve byte ranges" in line for line in said)


def test_a_digest_that_differs_leaves_nothing_behind(
        maven: type[_Maven], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pinned = corenlp_ner.CLASSIFIERS["en"]
    monkeypatch.setitem(corenlp_ner.CLASSIFIERS, "en", Classifier(
        pinned.jar, pinned.jar_sha256, pinned.member, "0" * 64))
    with pytest.raises(CoreNlpUnavailableError, match=r"test.crf.ser.gz: sha256 .* is pinned"):
        _fetch(tmp_path, maven.url)  # type: ignore[attr-defined]
    assert sorted(p.name for p in (tmp_path / "ner").iterdir()) == []


def test_offline_says_so_and_leaves_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(CoreNlpUnavailableError, match=r"could not fetch CoreNLP .*offline"):
        _fetch(tmp_path, "http://127.0.0.1:9/maven")  # the discard port: nothing listens
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_an_altered_file_is_fetched_again_and_refused_at_start(
        maven: type[_Maven], tmp_path: Path) -> None:
    _fetch(tmp_path, maven.url)  # type: ignore[attr-defined]
    classifier = tmp_path / "ner" / "test.crf.ser.gz"
    classifier.write_bytes(b"something else")
    with pytest.raises(CoreNlpUnavailableError, match=r"not those pinned .*test.crf.ser.gz"):
        check_available(tmp_path, ["en"])
    said = _fetch(tmp_path, maven.url)  # type: ignore[attr-defined]
    assert classifier.read_bytes() == b"a CRF classifier " * 1000
    assert not any("already there" in line for line in said)
