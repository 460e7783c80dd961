"""Resolution across documents: offices and their hierarchy, the title taxonomy, person linking with its
explanations and overrides, and the B-cubed scorer."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import invoke
from pipeline.domain.orgs import office_of
from pipeline.domain.people import Profile, link_persons, parse_aliases
from pipeline.domain.titles import parse_title
from pipeline.evaluate import b_cubed
from pipeline.normalize import match_key, normalize


def office(text: str, province: str = ""):
    return office_of(normalize(text).split(), province)


@pytest.mark.parametrize(
    "written",
    ["اداره کل بهزیستی استان فارس", "بهزیستی فارس", "اداره کل بهزیستی فارس", "سازمان بهزیستی استان فارس", "بهزیستی استان فارس"],
)
def test_every_form_of_a_provincial_office_has_one_name(written):
    info = office(written)
    assert (info.name, info.level, info.province) == ("اداره کل بهزیستی استان فارس", "province", "فارس")
    assert info.parent == "سازمان بهزیستی کشور"


def test_elliptic_province_comes_from_the_document():
    assert office("بهزیستی استان", "خوزستان").name == "اداره کل بهزیستی استان خوزستان"


def test_county_offices_belong_to_their_province():
    info = office("اداره بهزیستی شهرستان دزفول")
    assert (info.level, info.province, info.county) == ("county", "خوزستان", "دزفول")
    assert info.parent == "اداره کل بهزیستی استان خوزستان"
    assert office("فرمانداری دزفول").parent == "استانداری خوزستان"
    assert office("استانداری خوزستان").parent == "وزارت کشور"


def test_national_bodies_and_units():
    assert office("بهزیستی کشور").name == "سازمان بهزیستی کشور"
    assert office("بنیاد شهید").level == "national"
    assert office("بنیاد شهید استان کرمان").name == "بنیاد شهید و امور ایثارگران استان کرمان"
    unit = office("شورای اداری بهزیستی خوزستان")  # a council of the office, not the office
    assert unit.level == "" and unit.parent == "اداره کل بهزیستی استان خوزستان"
    assert office("موسسه خیریه نیکوکاران").parent == ""


def test_lost_zwnj_does_not_hide_a_body():
    assert office("سازمان همیاری شهرداریهای خراسان رضوی").name == normalize("سازمان همیاری شهرداری‌های خراسان رضوی")


@pytest.mark.parametrize(
    "title, role, portfolio",
    [("مدیر کل", "مدیرکل", ""), ("مدیرکل حراست", "مدیرکل", "حراست"), ("ریاست", "رئیس", ""),
     ("معاونت توانبخشی", "معاون", "توانبخشی"), ("معاون اداری، مالی و پشتیبانی", "معاون", "اداری، مالی و پشتیبانی")],
)
def test_title_taxonomy(title, role, portfolio):
    assert parse_title(normalize(title)) == (normalize(role), normalize(portfolio))


def profile(name: str, doc: str, posts=(), province="فارس", date="2023-01-01", context=()) -> Profile:
    tokens = name.split()
    first = match_key(" ".join(tokens[:-1])) if len(tokens) > 1 else ""
    return Profile(
        f"{name}@{doc}", doc, name, first, match_key(tokens[-1]),
        frozenset((match_key(r), "", o) for r, o in posts), province, date, frozenset(context),
    )


BOSS = ("رئیس", "org|سازمانبهزیستیکشور")
GOVERNOR = ("فرماندار", "org|فرمانداریاهواز")


def test_linking_follows_the_evidence():
    profiles = [
        profile("وحید قادری", "d1", [BOSS]),
        profile("وحید قادری", "d2"),  # the same full name: the same person
        profile("قادری", "d3", [BOSS]),  # «دکتر قادری، رئیس سازمان بهزیستی کشور»: the same post
        profile("علی قادری", "d4", [GOVERNOR], province="خوزستان"),  # same surname, another man
        profile("قادری", "d5", [GOVERNOR], province="خوزستان"),
        profile("قادری", "d6", [], province="کرمان"),  # nothing to go on: kept apart
    ]
    cluster, decisions = link_persons(profiles)
    assert cluster[0] == cluster[1] == cluster[2]
    assert cluster[3] == cluster[4] != cluster[0]
    assert cluster[5] not in (cluster[0], cluster[3])
    merge = next(d for d in decisions if d.left == "قادری@d3" and d.decision == "merge")
    assert merge.right_name == "وحید قادری" and "same post" in merge.reasons and merge.score >= 0.5


def test_different_first_names_never_merge_and_ties_stay_apart():
    profiles = [
        profile("رضا محمدی", "d1", [BOSS]),
        profile("حسن محمدی", "d2", [BOSS]),  # successive holders of one office, same surname
        profile("محمدی", "d3", [BOSS]),  # which one? ambiguous
    ]
    cluster, decisions = link_persons(profiles)
    assert len(set(cluster)) == 3
    assert any(d.decision == "ambiguous" for d in decisions)


def test_aliases_force_merges_and_splits():
    rules, problems = parse_aliases("# overrides\nmerge\tوحید قادری\tوحید قادری‌نژاد\nsplit,علی رضایی@d3,علی رضایی@d4\nnonsense line\n")
    assert [r.action for r in rules] == ["merge", "split"] and len(problems) == 1
    profiles = [
        profile("وحید قادری", "d1"), profile("وحید قادری‌نژاد", "d2"), profile("علی رضایی", "d3"), profile("علی رضایی", "d4"),
    ]
    plain, _ = link_persons(profiles)
    assert plain[0] != plain[1] and plain[2] == plain[3]
    forced, decisions = link_persons(profiles, aliases=rules)
    assert forced[0] == forced[1] and forced[2] != forced[3]
    assert any(d.decision == "forced-merge" for d in decisions)


def test_b_cubed_known_values():
    s = b_cubed([1, 1, 2], ["a", "a", "a"])
    assert s.precision == pytest.approx(1.0) and s.recall == pytest.approx(5 / 9)
    s = b_cubed([1, 1, 1], ["a", "a", "b"])
    assert s.precision == pytest.approx(5 / 9) and s.recall == pytest.approx(1.0)


ARTICLES = {
    "a1": "رئیس سازمان بهزیستی کشور در اهواز\nبه گزارش روابط عمومی اداره کل بهزیستی استان خوزستان، وحید قادری، رئیس سازمان بهزیستی کشور در جلسه شورای اداری استان گفت: خدمات توانبخشی گسترش می‌یابد.\nقادری افزود: مراکز جدید افتتاح می‌شود.",
    "a2": "دیدار با مددجویان\nدکتر قادری، رئیس سازمان بهزیستی کشور امروز در بازدید از مراکز بهزیستی خوزستان گفت: برنامه‌ها ادامه دارد.",
    "a3": "نشست شورای اداری شهرستان\nعلی قادری، فرماندار اهواز در این نشست گفت: همکاری دستگاه‌ها ضروری است.\nوی افزود: مسکن مددجویان در اولویت است.",
}


@pytest.fixture()
def small_corpus(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    return folder


def test_pipeline_links_across_documents_and_obeys_aliases(small_corpus, tmp_path):
    out = tmp_path / "out"
    result = invoke("run", small_corpus, "-o", out, "--no-model", "-q")
    assert result.exit_code == 0, result.output
    mentions = pd.read_csv(out / "mentions.csv", dtype=str, keep_default_na=False)
    persons = mentions[mentions["label"] == "PERSON"]
    vahid = set(persons[persons["doc_id"].isin(["a1", "a2"])]["entity_id"])
    ali = set(persons[persons["doc_id"] == "a3"]["entity_id"])
    assert len(vahid) == 1 and len(ali) == 1 and vahid != ali
    resolution = pd.read_csv(out / "resolution.csv", dtype=str, keep_default_na=False)
    row = resolution[(resolution["decision"] == "merge") & resolution["left"].str.endswith("@a2")]
    assert len(row) == 1 and "same post" in row.iloc[0]["reasons"]
    # the hierarchy: the provincial office points at the national body, which is a node of its own
    entities = pd.read_csv(out / "entities.csv", dtype=str, keep_default_na=False)
    by_name = dict(zip(entities["name"], entities["entity_id"]))
    office_row = entities[entities["name"] == "اداره کل بهزیستی استان خوزستان"].iloc[0]
    assert office_row["parent_id"] == by_name["سازمان بهزیستی کشور"] and office_row["province"] == "خوزستان"
    edges = pd.read_csv(out / "edges.csv", dtype=str, keep_default_na=False)
    part_of = edges[edges["relation"] == "part_of"]
    assert {office_row["entity_id"], by_name["سازمان بهزیستی کشور"]} in [set(p) for p in zip(part_of["Source"], part_of["Target"])]
    affiliations = pd.read_csv(out / "affiliations.csv", dtype=str, keep_default_na=False)
    assert {"role", "portfolio", "date"} <= set(affiliations.columns)
    assert set(affiliations["role"]) >= {"رئیس", "فرماندار"}
    nodes = pd.read_csv(out / "nodes.csv", dtype=str, keep_default_na=False)
    vahid_posts = nodes[nodes["Id"] == next(iter(vahid))]["posts"].iloc[0]
    assert "رئیس — سازمان بهزیستی کشور" in vahid_posts

    # the analyst disagrees: «دکتر قادری» of a2 is someone else
    aliases = tmp_path / "aliases.tsv"
    aliases.write_text("split\tقادری@a2\tوحید قادری\n", encoding="utf-8")
    result = invoke("resolve", "-o", out, "--aliases", aliases, "-q")
    assert result.exit_code == 0, result.output
    result = invoke("graph", "-o", out, "-q")
    mentions = pd.read_csv(out / "mentions.csv", dtype=str, keep_default_na=False)
    persons = mentions[mentions["label"] == "PERSON"]
    assert set(persons[persons["doc_id"] == "a1"]["entity_id"]) != set(persons[persons["doc_id"] == "a2"]["entity_id"])
    assert "aliases file changed" not in invoke("status", "-o", out).output
    aliases.write_text("# changed my mind\n", encoding="utf-8")
    status = invoke("status", "-o", out).output
    assert "aliases file changed" in status


def test_a_national_post_is_not_tied_to_the_province_of_the_article():
    head = ("رئیس", "org|کمیتهامدادامامخمینی")
    profiles = [
        Profile("زکریا انصاری@d1", "d1", "زکریا انصاری", "زکریا", "انصاری", frozenset({(head[0], "", head[1])}), "فارس", "2023-01-01", frozenset(), True),
        Profile("انصاری@d2", "d2", "انصاری", "", "انصاری", frozenset({(head[0], "", head[1])}), "کرمان", "2023-02-01", frozenset(), True),
    ]
    cluster, _ = link_persons(profiles)
    assert cluster[0] == cluster[1]


def _affiliations_of(sentence: str):
    from pipeline.domain.rules import SentenceRules
    from pipeline.segment import word_tokenizer
    from pipeline.stages.resolve import find_affiliations

    tokens = word_tokenizer().tokenize(normalize(sentence))
    rules = SentenceRules(tokens)
    rules.run()
    mentions = [
        {"label": s.label, "tok_start": s.start, "tok_end": s.end, "text": " ".join(tokens[s.start : s.end]), "kind": s.kind}
        for s in rules.spans
    ]
    found, _loose = find_affiliations(tokens, mentions)
    return [(p["text"], t["text"], o["text"] if o else None) for p, t, o in found]


def test_a_member_of_parliament_and_his_house():
    assert _affiliations_of("نماینده مردم آمل و بابل در مجلس شورای اسلامی، شهاب محمدی از این مرکز بازدید کرد") == [
        ("شهاب محمدی", "نماینده", "مجلس شورای اسلامی")
    ]


def test_a_name_after_title_and_office_even_with_a_first_name_that_is_a_word():
    found = _affiliations_of("مدیرکل تامین اجتماعی استان، سید صالح باقرزاده بیان کرد")
    assert found == [("سید صالح باقرزاده", "مدیرکل", "تامین اجتماعی استان")]
