"""Loading and checking: every error kind, each with its exact line and column."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.knowledge.loader import check_knowledge, load_knowledge
from bot.knowledge.problems import KnowledgeError
from tests.auxil.kb import entry, make_kb


def errors(kdir: Path) -> list[str]:
    _kb, problems = check_knowledge(kdir)
    return [f"{Path(p.path).name}:{p.line}:{p.column}: {p.message}" for p in problems if p.severity == "error"]


def test_valid_knowledge_base_loads_typed_and_immutable(tmp_path):
    kdir = make_kb(tmp_path, {"a.yaml": entry("alpha") + entry("beta", "另一个问题")})
    kb = load_knowledge(kdir)
    assert [e.id for e in kb.entries] == ["alpha", "beta"]
    e = kb.by_id["alpha"]
    assert e.questions[0] == "测试问题" and len(e.questions) == 5
    assert e.source.date.isoformat() == "2021-12-28"
    assert e.title == "测试问题"  # defaults to the canonical question
    with pytest.raises(AttributeError):
        e.answer = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        kb.by_id["x"] = e  # type: ignore[index]


def test_version_changes_with_content_only(tmp_path):
    kdir = make_kb(tmp_path, {"a.yaml": entry("alpha")})
    v1 = load_knowledge(kdir).version
    assert load_knowledge(kdir).version == v1
    (kdir / "a.yaml").write_text(entry("alpha", answer="新的回答。"), encoding="utf-8")
    assert load_knowledge(kdir).version != v1


def test_yaml_syntax_error_has_line_and_column(tmp_path):
    kdir = make_kb(tmp_path, {"a.yaml": "- id: alpha\n  topic: [unclosed\n  answer: x\n"})
    [err] = errors(kdir)
    assert err.startswith("a.yaml:3:")
    assert "YAML syntax error" in err


def test_missing_and_wrong_typed_fields(tmp_path):
    text = entry("alpha").replace("  answer: 测试回答。\n", "").replace("as_of: 2021-12-28", "as_of: 12")
    kdir = make_kb(tmp_path, {"a.yaml": text})
    errs = errors(kdir)
    assert "a.yaml:1:3: an entry is missing `answer`; add a `answer:` line" in errs
    assert any(e.startswith("a.yaml:15:10: `as_of` must be a date") for e in errs), errs


def test_unknown_key_suggests_the_right_one(tmp_path):
    kdir = make_kb(tmp_path, {"a.yaml": entry("alpha").replace("  as_of:", "  anwser: 回答\n  as_of:")})
    [err] = errors(kdir)
    assert err == "a.yaml:16:3: unknown key `anwser` in an entry; did you mean `answer`?"


def test_duplicate_ids_and_questions_across_files(tmp_path):
    kdir = make_kb(tmp_path, {"a.yaml": entry("alpha"), "b.yaml": entry("alpha", "测试问题！")})
    errs = errors(kdir)
    assert any(e.startswith("b.yaml:1:3: duplicate id `alpha`, first used at") for e in errs), errs
    assert any("question “测试问题！” of `alpha` is also a question of `alpha`" in e for e in errs) is False
    kdir2 = make_kb(tmp_path / "two", {"a.yaml": entry("alpha"), "b.yaml": entry("beta", "测试问题？")})
    [dup] = errors(kdir2)
    assert dup.startswith("b.yaml:1:3: question “测试问题？” of `beta` is also a question of `alpha`")


def test_unknown_follow_up_and_bad_date(tmp_path):
    text = entry("alpha").replace("as_of: 2021-12-28", "as_of: 2021-13-01\n  follow_ups: [alpah]")
    kdir = make_kb(tmp_path, {"a.yaml": text})
    errs = errors(kdir)
    assert any(e.startswith("a.yaml:16:10: `as_of` `2021-13-01` is not a valid date") for e in errs), errs
    assert "a.yaml:1:3: `follow_ups` of `alpha` names unknown entry `alpah`" not in errs  # entry invalid
    kdir2 = make_kb(tmp_path / "b", {"a.yaml": entry("alpha").replace("as_of: 2021-12-28",
                                                                       "as_of: 2021-12-28\n  follow_ups: [alpah]")})
    assert errors(kdir2) == ["a.yaml:1:3: `follow_ups` of `alpha` names unknown entry `alpah`; "
                             "did you mean `alpha`?"]


def test_every_error_is_reported_at_once(tmp_path):
    bad1 = entry("alpha").replace("topic: 测试", "topik: 测试")
    bad2 = entry("Beta Bad", "别的问题")
    kdir = make_kb(tmp_path, {"a.yaml": bad1, "b.yaml": bad2, "c.yaml": "- id: [\n"})
    errs = errors(kdir)
    files = {e.split(":")[0] for e in errs}
    assert files == {"a.yaml", "b.yaml", "c.yaml"}
    # One line per mistake: the misspelt `topik` is not also reported as a missing `topic`.
    assert len(errs) == 3, errs


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", None),
        (b"id: alpha\ntopic: x\n", "must be a list of entries"),
        (b"\x00\x01\x02binary", "binary file"),
        (b"\xff\xfe- id: x\n", "not UTF-8"),
    ],
)
def test_bad_files_get_a_clear_message(tmp_path, content, expected):
    kdir = make_kb(tmp_path, {"ok.yaml": entry("alpha")})
    (kdir / "bad.yaml").write_bytes(content)
    kb, problems = check_knowledge(kdir)
    bad = [p for p in problems if p.path.endswith("bad.yaml")]
    if expected is None:  # an empty file is a warning, not an error
        assert kb is not None and [p.severity for p in bad] == ["warning"]
    else:
        assert kb is None
        assert any(expected in p.message and p.line == 1 for p in bad), bad


def test_huge_file_and_huge_answer(tmp_path):
    kdir = make_kb(tmp_path, {"long.yaml": entry("alpha", answer="很" * 50_000)})
    (kdir / "huge.yaml").write_bytes(b"# " + b"x" * 10_000_000 + b"\n")
    errs = errors(kdir)
    assert any(e.startswith("huge.yaml:1:1: file is 10,000,003 bytes") for e in errs), errs
    assert any(e.startswith("long.yaml:9:11: `answer` is 50,000 characters") for e in errs), errs


def test_hostile_yaml_is_refused_quickly(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    kdir = make_kb(tmp_path, {
        "bomb.yaml": bomb,
        "tag.yaml": "- !!python/object/apply:os.system ['echo hacked']\n",
        "deep.yaml": "[" * 5000 + "]" * 5000 + "\n",
    })
    started = time.perf_counter()
    errs = errors(kdir)
    assert time.perf_counter() - started < 30  # a billion-node expansion would hang; speed is not measured here
    assert any(e.startswith("bomb.yaml:") and "aliases" in e for e in errs), errs
    assert any(e.startswith("tag.yaml:1:3:") and "not allowed" in e for e in errs), errs
    assert any(e.startswith("deep.yaml:") and "too deep" in e for e in errs), errs


def test_load_knowledge_raises_with_all_problems(tmp_path):
    kdir = make_kb(tmp_path, {"a.yaml": "{}"})
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(kdir)
    assert "must be a list of entries" in str(info.value)


def test_reply_templates_are_checked(tmp_path):
    kdir = make_kb(tmp_path, {"a.yaml": entry("alpha")})
    replies = (kdir / "replies.yaml").read_text(encoding="utf-8")
    (kdir / "replies.yaml").write_text(replies.replace("{publisher}", "{publsher}"), encoding="utf-8")
    errs = errors(kdir)
    assert any("`source_line` uses unknown placeholder(s) {publsher}" in e for e in errs), errs


def test_scope_file_is_checked_and_optional(tmp_path):
    kdir = make_kb(tmp_path, {"a.yaml": entry("alpha"),
                              "scope.yaml": "label: 某地\nhome: [某地]\nkind: [公园]\n"})
    [err] = errors(kdir)
    assert err == "scope.yaml:3:1: unknown key `kind` in scope.yaml; did you mean `kinds`?"
    (kdir / "scope.yaml").unlink()
    kb = load_knowledge(kdir)
    assert kb.scope.home == ()  # no scope.yaml: no question is held to be about another place
