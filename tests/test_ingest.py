import pytest

from pipeline.dates import find_date, jalali_to_gregorian
from pipeline.io.readers import RawArticle
from pipeline.normalize import normalize
from pipeline.settings import Settings
from pipeline.stages.ingest import DecodeError, decode, ingest_article

TEXT = "به گزارش روابط عمومی اداره کل بهزیستی استان فارس، علی رضایی مدیرکل بهزیستی گفت: این طرح اجرا شد."


def test_decode_utf8_cp1256_utf16():
    assert decode(TEXT.encode("utf-8")) == (TEXT, "")
    # Windows-1256 has Arabic ي/ك only: old Persian sites wrote those, the normalizer folds them
    arabic = TEXT.replace("ی", "ي").replace("ک", "ك")
    text, warning = decode(arabic.encode("cp1256"))
    assert text == arabic and normalize(text) == normalize(TEXT) and "1256" in warning
    assert decode(TEXT.encode("utf-16"))[0] == TEXT


@pytest.mark.parametrize("data,reason", [(b"", "empty"), (b"  \n\t ", "empty"), (bytes(range(256)) * 4, "binary")])
def test_decode_rejects_empty_and_binary(data, reason):
    with pytest.raises(DecodeError, match=reason):
        decode(data)


def test_jalali_dates():
    assert jalali_to_gregorian(1400, 5, 12).isoformat() == "2021-08-03"
    assert jalali_to_gregorian(1403, 9, 12).isoformat() == "2024-12-02"
    assert jalali_to_gregorian(1403, 12, 30).isoformat() == "2025-03-20"  # leap year
    assert find_date("صبح روز سه‌شنبه 12 مرداد 1400 نخستین") == "2021-08-03"
    assert find_date("26 بهمن 1399 - 14:32") == "2021-02-14"
    assert find_date("دوشنبه 21 اسفند ماه") == ""  # no year: not a date


def test_furniture_title_date_agency_on_a_scraped_page():
    from conftest import SEEDS

    raw = (SEEDS / "004_edc48c3769eb6a48.txt").read_bytes()
    doc, warnings = ingest_article(RawArticle("004", "x", raw), Settings())
    assert doc.status == "ok" and not warnings
    for furniture in ("امروز :", "کد خبر", "لینک کوتاه", "ارسال نظرات", "@gmail", "قوانین ارسال"):
        assert furniture not in doc.text
    assert doc.title.startswith("بهره‌گیری از توان سازمان همیاری")  # the kicker line above it is skipped
    assert doc.date == "2021-02-14"  # the article's date, not the site's «امروز» banner
    assert doc.agency == "پایگاه خبری عصرتوس"


def test_agency_without_comma_stops_at_the_organization():
    raw = "به گزارش روابط عمومی اداره کل بهزیستی استان خراسان جنوبی شرفی مدیرکل در ابتدای این جلسه گفت.".encode()
    doc, _ = ingest_article(RawArticle("d", "x", raw), Settings())
    assert doc.agency == "روابط عمومی اداره کل بهزیستی استان خراسان جنوبی"


def test_sentence_and_token_offsets_slice_the_text():
    raw = ("خبر اول. " + TEXT + "\n\nبند دوم با جمله‌ای دیگر؟ بله!").encode()
    doc, _ = ingest_article(RawArticle("d", "x", raw), Settings())
    assert doc.n_sentences >= 4
    for s in doc.sentences:
        for token, start in zip(s.tokens, s.token_starts):
            assert doc.text[start : start + len(token)] == token
        assert doc.text[s.start : s.end].startswith(s.tokens[0])


def test_short_link_lines_are_furniture_but_paragraphs_with_links_are_text():
    body = "مدیرکل بهزیستی استان فارس گفت: متقاضیان می‌توانند برای ثبت‌نام به سامانه اداره کل به نشانی www.behzisti-fars.ir"
    raw = f"{body}\nلینک کوتاه : http://x.ir/?p=1\nhttps://example.com/a\ninfo@example.com".encode()
    doc, _ = ingest_article(RawArticle("d", "x", raw), Settings())
    assert doc.text == normalize(body)
