"""The domain layer on sentences written for the tests (not the seeds): the genre's patterns."""

from pipeline.domain.rules import sentence_spans
from pipeline.normalize import normalize
from pipeline.segment import tokenize


def spans(text):
    tokens, _ = tokenize(normalize(text))
    return [(s.label, " ".join(tokens[s.start : s.end])) for s in sentence_spans(tokens)]


def test_name_comma_title_org():
    got = spans("به گزارش روابط عمومی اداره کل بهزیستی استان فارس، علی رضایی، مدیرکل بهزیستی استان گفت")
    assert ("ORG", "اداره کل بهزیستی استان فارس") in got
    assert ("PERSON", "علی رضایی") in got
    assert ("TITLE", "مدیرکل") in got
    assert ("ORG", "بهزیستی استان") in got


def test_surname_before_title_with_portfolio_and_org():
    got = spans("با حضور کامرانفر معاون توسعه مدیریت و منابع استانداری کرمان جلسه برگزار شد")
    assert ("PERSON", "کامرانفر") in got
    assert ("TITLE", "معاون توسعه مدیریت و منابع") in got
    assert ("ORG", "استانداری کرمان") in got


def test_honorifics_are_not_part_of_the_name_but_seyyed_is():
    got = spans("جناب آقای سید مرتضی بختیاری و خانم دکتر صالحی در نشست حضور داشتند")
    assert ("PERSON", "سید مرتضی بختیاری") in got
    assert ("PERSON", "صالحی") in got


def test_names_inside_venues_and_org_names_are_not_persons():
    got = spans("مراسم در سالن شهید باهنر فرمانداری با حضور مسئولان ستاد اجرایی فرمان امام (ره) برگزار شد")
    assert not [x for x in got if x[0] == "PERSON"]
    assert ("ORG", "ستاد اجرایی فرمان امام (ره)") in got


def test_pronoun_and_bare_title_are_not_persons():
    got = spans("وی افزود: مدیرکل بهزیستی استان بر این موضوع تاکید کرد")
    assert not [x for x in got if x[0] == "PERSON"]


def test_chaired_by_is_not_a_title():
    got = spans("این نشست با ریاست ابراهیم نورمحمدی برگزار شد")
    assert ("PERSON", "ابراهیم نورمحمدی") in got
    assert not [x for x in got if x[0] == "TITLE"]


def test_elliptic_head_counted_noun_and_plural():
    got = spans("این موسسه با ۱۱۸ موسسه و استانداری ها همکاری دارد")
    assert got.count(("ORG", "موسسه")) == 1  # «۱۱۸ موسسه» is a count, «استانداری ها» a plural


def test_coordinated_adjectives_stay_in_the_org_name():
    got = spans("مدیرعامل موسسه فرهنگی، هنری و آموزشی کوثر گفت")
    assert ("ORG", "موسسه فرهنگی ، هنری و آموزشی کوثر") in got


def test_distributed_head_of_known_bodies():
    got = spans("رسالت‌های بنیاد برکت و احسان را بیان کرد")
    assert ("ORG", "بنیاد برکت") in got and ("ORG", "احسان") in got


def test_consecutive_first_names_terminate():
    """Regression: two first names before a comma once looped for ever."""
    got = spans("تیم با ترکیب پویا تاجیک ، کامران جمشید ، بابک مرادی و امیر حسین مدنی به دیدار حریف رفت")
    assert ("PERSON", "بابک مرادی") in got and ("PERSON", "امیر حسین مدنی") in got


def test_domain_layer_terminates_on_ordinary_prose():
    """Every rule must advance on any token sequence: run the layer over real prose (fa_text)."""
    import itertools
    from pathlib import Path

    import pytest

    folder = Path(__file__).resolve().parents[2] / "shared" / "data" / "fa_text"
    if not folder.exists():
        pytest.skip("needs ../shared/data/fa_text")
    from pipeline.normalize import normalize_many

    lines = list(itertools.islice((l for l in (folder / "ntrex_fas.txt").read_text(encoding="utf-8").splitlines() if l.strip()), 1500))
    persons = 0
    for line in normalize_many(lines):
        tokens, _ = tokenize(line)
        persons += sum(s.label == "PERSON" for s in sentence_spans(tokens))
    assert persons > 0
