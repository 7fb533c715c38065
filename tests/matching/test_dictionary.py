"""jieba's dictionary kept in CACHE_DIR: read back as jieba reads its own; damaged or inconsistent files are
parsed again and replaced, never trusted."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest

from bot.matching import dictionary
from bot.matching.tokens import Tokenizer
from tests.auxil.npz import rewrite

CHARS = "潞河中学北京通州公租房一的a1"
TEXT = "潞河中学附属学校的公租房在北京市通州区哪里申请"


def groups(d):
    return {c: d.group(c) for c in CHARS}


@pytest.fixture(scope="module")
def parsed():
    return dictionary.load(None)


def stored_file(directory):
    (path,) = directory.glob("jieba-dict-*.npz")
    return path


def no_parsing(monkeypatch):
    def refuse(source):
        raise AssertionError("parsed jieba's dict.txt again")

    monkeypatch.setattr(dictionary, "_parse", refuse)


def test_the_kept_dictionary_is_read_back_not_parsed_again(parsed, tmp_path, monkeypatch):
    (tmp_path / "jieba-dict-v0-0123456789abcdef.npz").write_bytes(b"an older format's file")
    made = dictionary.load(tmp_path)
    assert groups(made) == groups(parsed) and made.total == parsed.total
    assert stored_file(tmp_path).name != "jieba-dict-v0-0123456789abcdef.npz"  # the only one left
    no_parsing(monkeypatch)
    read = dictionary.load(tmp_path)
    assert groups(read) == groups(parsed) and read.total == parsed.total
    assert read.group("潞")["潞河"] > 0 and read.group("潞")["潞"] > 0  # words, and prefixes kept too
    assert "中华人民共和" in read.group("中") and read.group("中")["中华人民共和"] == 0
    logs = read.log_group("潞", 17.5)
    assert logs["潞河"] == math.log(read.group("潞")["潞河"]) - 17.5  # exactly: one subtraction of math.log
    assert logs.keys() == read.group("潞").keys()


def damaged_flip(path):
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    path.write_bytes(bytes(data))


def damaged_truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def damaged_counts(path):
    with np.load(path, allow_pickle=False) as data:
        starts = data["key_starts"].copy()
    starts[-1] += 1
    rewrite(path, key_starts=starts)


def damaged_logs(path):
    with np.load(path, allow_pickle=False) as data:
        logs = data["logs"].copy()
    logs[len(logs) // 2] += 0.5  # one word's frequency, as the cut reads it, not its own
    rewrite(path, logs=logs)


@pytest.mark.parametrize("damage", [damaged_flip, damaged_truncate, damaged_counts, damaged_logs])
def test_a_damaged_file_is_parsed_again_and_replaced(parsed, tmp_path, monkeypatch, caplog, damage):
    dictionary.load(tmp_path)
    damage(stored_file(tmp_path))
    with caplog.at_level(logging.WARNING, logger="bot.matching.dictionary"):
        again = dictionary.load(tmp_path)
    assert "ignoring stored jieba dictionary" in caplog.text
    assert groups(again) == groups(parsed)
    no_parsing(monkeypatch)
    assert groups(dictionary.load(tmp_path)) == groups(parsed)  # made again, readable


def test_keys_under_the_wrong_character_are_not_trusted(parsed, tmp_path, caplog):
    """Checksums and counts hold, but a group's keys are another character's: found when the group is first
    used, and every group comes from jieba's own file from then on."""
    dictionary.load(tmp_path)
    path = stored_file(tmp_path)
    with np.load(path, allow_pickle=False) as data:
        chars = data["chars"].tobytes().decode()
    a, b = chars.index("潞"), chars.index("河")
    swapped = list(chars)
    swapped[a], swapped[b] = swapped[b], swapped[a]
    rewrite(path, chars=np.frombuffer("".join(swapped).encode(), dtype=np.uint8))
    read = dictionary.load(tmp_path)
    with caplog.at_level(logging.WARNING, logger="bot.matching.dictionary"):
        assert read.group("潞") == parsed.group("潞")
    assert "ignoring the stored jieba dictionary" in caplog.text
    assert groups(read) == groups(parsed)


def test_a_tokenizer_cuts_the_same_whatever_its_dictionary_learnt_first():
    """Names stay names when the main dictionary's keys of their first character arrive later."""
    one, two = Tokenizer(["潞河中学附属学校"]), Tokenizer(["潞河中学附属学校"])
    two.words("中学")  # 中 learnt before 潞
    two.words("潞河")
    assert one.words(TEXT) == two.words(TEXT)
    assert "潞河中学附属学校" in one.words(TEXT)


def test_the_parsed_dictionary_is_jiebas_own_every_word_prefix_and_total(parsed):
    import jieba

    with dictionary.source_path().open("rb") as f:
        jiebas, total = jieba.Tokenizer().gen_pfdict(f)
    ours = {k: v for c in parsed._where for k, v in parsed.group(c).items()}
    assert parsed.total == total and ours == jiebas


def test_the_general_vocabulary_is_jiebas_most_frequent_words_of_those_kinds():
    words = dictionary.common_words(50, ("n",), range(2, 4))
    assert len(words) == 50 and len(set(words)) == 50
    freq, tag = {}, {}
    for line in dictionary.source_path().read_text(encoding="utf-8").splitlines():
        w, f, t = line.split()
        freq[w], tag[w] = int(f), t
    assert all(tag[w] == "n" and 2 <= len(w) <= 3 for w in words)
    assert [freq[w] for w in words] == sorted((freq[w] for w in words), reverse=True)
    least = freq[words[-1]]
    assert not any(t == "n" and 2 <= len(w) <= 3 and f > least and w not in words for w, f, t in
                   ((w, freq[w], tag[w]) for w in freq))
