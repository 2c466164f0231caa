"""The public corpus: 95 real, often malformed messages from Request Tracker's and Alaveteli's tests.

Read from ../shared/mail-corpus (SOURCES.md there: GPL/AGPL data of other
projects, never copied into ours); skipped where it is absent. Every file
must come out as Parsed or Refused, never as an exception, and the files
SOURCES.md singles out must come out as what they are.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lookup.privacy import id_hasher
from mailintake.classify import bounce_info, classify
from mailintake.extract import candidates
from mailintake.parsing import Parsed, Refused, parse

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "mail-corpus"
FILES = sorted(p for folder in ("rt", "alaveteli") if (CORPUS / folder).is_dir()
               for p in (CORPUS / folder).iterdir() if p.is_file())
pytestmark = pytest.mark.skipif(not FILES, reason=f"mail corpus not found at {CORPUS}")


def corpus(name: str) -> Parsed:
    result = parse((CORPUS / name).read_bytes())
    assert isinstance(result, Parsed), result
    return result


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_corpus_message_parses_classifies_and_extracts_without_an_exception(path):
    result = parse(path.read_bytes())
    assert isinstance(result, Parsed | Refused)
    if isinstance(result, Refused):
        assert result.reason != "unreadable", result
        return
    kind = classify(result, our_addresses=("66119801@moe.edu.cn",))
    assert kind.name in ("normal", "auto", "bounce", "loop")
    if kind.name == "bounce":
        bounce_info(result)
    candidates(result.subject + "\n" + result.reply_text, hasher=id_hasher(b"k"))


@pytest.mark.parametrize("name, kind", [
    ("rt/multipart-report", "bounce"),
    ("alaveteli/autoresponse-header.eml", "auto"),
    ("alaveteli/empty-return-path.eml", "bounce"),
    ("alaveteli/track-response-exim-bounce.eml", "bounce"),
    ("alaveteli/track-response-ms-bounce.eml", "bounce"),
    ("alaveteli/track-response-multipart-report.eml", "bounce"),
    ("alaveteli/track-response-webshield-bounce.eml", "bounce"),
    ("alaveteli/track-response-abcmail-oof.eml", "auto"),
    ("alaveteli/track-response-exchange-oof-1.eml", "auto"),
    ("alaveteli/track-response-generic-oof.eml", "auto"),
    ("alaveteli/track-response-lotus-oof-1.eml", "auto"),
    ("alaveteli/track-response-messageclass-oof.eml", "auto"),
    ("alaveteli/track-response-messagelabs-oof-1.eml", "auto"),
    ("alaveteli/track-response-outlook-oof.eml", "auto"),
    ("rt/new-ticket-from-gb18030", "normal"),
    ("alaveteli/incoming-request-plain.eml", "normal"),
])
def test_corpus_files_of_note_are_classified_as_what_they_are(name, kind):
    assert classify(corpus(name)).name == kind


def test_gb18030_subject_with_bad_padding_and_body_are_readable():
    parsed = corpus("rt/new-ticket-from-gb18030")
    assert (parsed.subject, parsed.text) == ("测试", "测试")


def test_multipart_report_names_the_original_and_a_permanent_failure():
    info = bounce_info(corpus("rt/multipart-report"))
    assert info.permanent is True
    assert info.original_message_id == "<200308221615.h7MGFGac020135@mx12.other.example.com>"


def test_undeclared_gb_text_is_detected():
    parsed = corpus("alaveteli/no-part-charset-bad-utf8.eml")
    assert parsed.subject == "任乐松"
    assert "贵公司负责人" in parsed.text


def test_random_data_without_a_charset_still_parses():
    assert corpus("alaveteli/no-part-charset-random-data.eml").subject == "任乐松"


def test_mislabelled_iso_8859_1_dash_reads_right():
    assert "NEXT – REQUEST" in corpus("alaveteli/mislabelled-as-iso-8859-1.eml").text


def test_raw_8bit_subject_without_content_type_parses():
    parsed = corpus("rt/russian-subject-no-content-type")
    assert parsed.subject and parsed.from_addr == "mitya@fling-wing.example.com"


def test_rfc2231_continued_file_name_is_reassembled():
    [attachment] = corpus("rt/rfc2231-attachment-filename-continuations").attachments
    # Its own text: the parts are "joined with a space".
    assert attachment.filename == "新しいテキスト ドキュメント.txt"


def test_missing_final_boundary_keeps_the_text():
    assert corpus("alaveteli/multipart-no-final-boundary.eml").text.startswith("This is an acknowledgement")


@pytest.mark.parametrize("name", [
    "alaveteli/inline-uuencode.eml", "alaveteli/simple-uuencoded-attachment.eml",
    "alaveteli/incoming-request-bad-uuencoding.eml", "rt/notes-uuencoded",
])
def test_uuencoded_attachments_are_tolerated(name):
    parsed = corpus(name)
    assert parsed.attachments and all(a.data for a in parsed.attachments)
