from pipeline.normalize import ZWNJ, match_key, normalize


def test_arabic_letters_fold_to_persian():
    assert normalize("علي كريمي") == "علی کریمی"
    assert normalize("مؤسسه") == "موسسه"
    assert normalize("أحمد") == "احمد"
    assert normalize("جمعة") == "جمعه"


def test_hamza_variants_and_joined_titles():
    assert normalize("رئيس هیئت مدیره") == "رئیس هیات مدیره"
    assert normalize("رییس") == "رئیس"
    assert normalize("مدير كل بهزيستي") == "مدیرکل بهزیستی"
    assert normalize("مدیر عامل") == "مدیرعامل"
    assert normalize("اداره کل") == "اداره کل"  # only titles are joined


def test_digits_become_ascii():
    assert normalize("۱۲ مرداد ۱۴۰۰") == "12 مرداد 1400"
    assert normalize("٣٤ درصد") == "34 درصد"


def test_zwnj_lost_doubled_and_at_edges():
    assert normalize("سهشنبه") == f"سه{ZWNJ}شنبه"
    assert normalize("حوزههای") == f"حوزه{ZWNJ}های"
    assert normalize(f"می{ZWNJ}{ZWNJ}شود") == f"می{ZWNJ}شود"
    assert normalize(f"{ZWNJ}کتاب{ZWNJ} خوب") == "کتاب خوب"
    assert normalize("می شود") == f"می{ZWNJ}شود"


def test_religious_marks_are_spaced():
    assert normalize("ستاد فرمان امام(ره) استان") == "ستاد فرمان امام (ره) استان"
    assert normalize("ولیعصر(عج)") == "ولیعصر (عج)"


def test_invisible_and_control_characters_removed_paragraphs_kept():
    text = "\ufeffسلام\u200f دنیا\x00\x0b\n\n\n\nبند دوم"
    assert normalize(text) == "سلام دنیا\n\nبند دوم"


def test_idempotent_on_seed_text():
    from conftest import SEEDS

    for path in SEEDS.glob("*.txt"):
        once = normalize(path.read_text(encoding="utf-8"))
        assert normalize(once) == once


def test_match_key_ignores_spacing_marks_and_honorifics():
    assert match_key("ستاد فرمان امام (ره)") == match_key("ستاد فرمان امام")
    assert match_key("مدیر کل") == match_key("مدیرکل")
    assert match_key("دکتر حیدری", strip_honorifics=True) == match_key("حیدری")
    assert match_key("شهرداری‌های") == match_key("شهرداری های")


def test_addresses_survive_normalization():
    text = "به نشانی www.behzisti-fars.ir یا info@behzisti.ir و http://asrtoos.ir/?p=1666 مراجعه کنید"
    out = normalize(text)
    for address in ("www.behzisti-fars.ir", "info@behzisti.ir", "http://asrtoos.ir/?p=1666"):
        assert address in out


def test_spaced_compound_suffixes_are_joined():
    assert normalize("آدم خسروی نژاد گفت") == "آدم خسروی‌نژاد گفت"
    assert normalize("حسن پور، مدیرکل") == "حسن‌پور، مدیرکل"
    assert normalize("نژاد پرستی") == "نژاد پرستی"  # a word of its own at the start stays


def test_a_zwnj_between_punctuation_marks_is_idempotent():
    # found by hypothesis: «،\u200c،» became «، ،», which a second pass closed up to «،،»
    once = normalize("،\u200c،")
    assert normalize(once) == once


def test_hazm_is_imported_without_its_other_tools_and_they_load_on_first_use():
    """import_hazm() imports hazm's normalizer and tokenizers only: not its taggers and embeddings (gensim),
    nor scikit-learn and SciPy through nltk.  The rest of the package loads when a name from it is
    used, and nothing stays hidden: hazm's tagger helpers and a later `import sklearn` get the real ones."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pipeline.normalize import import_hazm, normalize\n"
        "hazm = import_hazm()\n"
        "for name in ('sklearn', 'scipy', 'gensim', 'hazm.pos_tagger', 'hazm.embedding'):\n"
        "    assert name not in sys.modules, name + ' was imported'\n"
        "assert normalize('مدير كل') == 'مدیرکل'\n"
        "import hazm as again\n"
        "assert again is hazm and hazm.Normalizer.__module__ == 'hazm.normalizer'\n"
        "assert hazm.POSTagger.__name__ == 'POSTagger' and 'hazm.embedding' in sys.modules\n"
        "from hazm.sequence_tagger import accuracy_score\n"
        "assert accuracy_score([1, 2], [1, 3]) == 0.5\n"
        "import sklearn.metrics, scipy.stats\n"
        "assert hasattr(sklearn.metrics, 'f1_score') and hasattr(scipy.stats, 'fisher_exact')\n"
        "try:\n"
        "    hazm.no_such_tool\n"
        "except AttributeError:\n"
        "    pass\n"
        "else:\n"
        "    raise AssertionError('a missing name did not raise AttributeError')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
