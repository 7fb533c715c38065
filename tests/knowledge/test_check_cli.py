"""`resident-bot kb check` as an administrator meets it: one error is one line, warnings always shown,
passed forecasts acknowledged, two questions joined by an over-indented line caught."""

from __future__ import annotations

from bot.cli import main
from bot.live import LiveKnowledge
from tests.auxil.dialogue import make_dialogue
from tests.auxil.kb import entry, make_kb


def with_follow_ups(text: str, *ids: str) -> str:
    return text.replace("as_of: 2021-12-28", f"as_of: 2021-12-28\n  follow_ups: [{', '.join(ids)}]")


def test_one_bad_entry_is_one_error_not_a_cascade_and_warnings_still_show(tmp_path, capsys):
    broken = entry("late-care-end").replace("answer:", "anwser:")  # dropped for its own error
    thin = entry("late-care-who").replace("    - 问法三late-care-who\n    - 问法四late-care-who\n", "")
    kdir = make_kb(tmp_path, {
        "a.yaml": broken + with_follow_ups(thin, "late-care-end"),
        "b.yaml": with_follow_ups(entry("late-care-fee", "另一个问题"), "late-care-end"),
    })
    assert main(["kb", "check", str(kdir)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    errors = [line for line in lines if ": error: " in line]
    assert len(errors) == 1 and "unknown key `anwser` in an entry; did you mean `answer`?" in errors[0], lines
    assert not any("did you mean `late-care" in line for line in lines)
    # The warning of an entry that loaded fine is not hidden by someone else's error.
    assert any(": warning: `late-care-who` has 2 alternate question(s)" in line for line in lines), lines
    assert lines[-1] == ("FAILED: 1 error(s), 1 warning(s); the bot keeps serving its previous knowledge base "
                         "until the errors are fixed; the matcher self-check runs once they are fixed")


def test_over_indented_dash_joining_two_questions_is_located(tmp_path, capsys):
    joined = entry("late-care-end", "潞河附校晚托到几点").replace(
        "    - 问法一late-care-end\n", "      - 潞河附校晚托几点结束\n    - 问法一late-care-end\n")
    kdir = make_kb(tmp_path, {"a.yaml": joined})
    assert main(["kb", "check", str(kdir), "--no-self-check"]) == 0  # a warning: the bot still loads it
    out = capsys.readouterr().out
    assert ("a.yaml:4:7: warning: question “潞河附校晚托到几点 - 潞河附校晚托几点结束” of `late-care-end` looks "
            "like two questions joined by ` - `") in out, out
    assert main(["kb", "check", str(kdir), "--no-self-check", "--strict"]) == 1
    capsys.readouterr()


def test_passed_forecast_warns_until_acknowledged(tmp_path, capsys):
    forecast = entry("road-opening").replace("as_of: 2021-12-28", "as_of: 2021-12-28\n  expires: 2024-12-31")
    kdir = make_kb(tmp_path, {"a.yaml": forecast})
    assert main(["kb", "check", str(kdir), "--no-self-check", "--strict"]) == 1
    out = capsys.readouterr().out
    assert "`road-opening` states a forecast that expired on 2024-12-31" in out
    assert "acknowledge it with `acknowledged_passed: 2024-12-31`" in out

    (kdir / "a.yaml").write_text(forecast + "  acknowledged_passed: 2024-12-31\n", encoding="utf-8")
    assert main(["kb", "check", str(kdir), "--no-self-check", "--strict"]) == 0
    assert capsys.readouterr().out.strip().endswith("0 error(s), 0 warning(s)")

    (kdir / "a.yaml").write_text(forecast + "  acknowledged_passed: 2024-06-30\n", encoding="utf-8")
    assert main(["kb", "check", str(kdir), "--no-self-check"]) == 0
    out = capsys.readouterr().out
    assert "`acknowledged_passed` of `road-opening` names 2024-06-30, which is neither its `expires`" in out
    assert "expired on 2024-12-31" in out  # the real date is still unacknowledged

    (kdir / "a.yaml").write_text(forecast + "  acknowledged_passed: 2024-13-01\n", encoding="utf-8")
    assert main(["kb", "check", str(kdir), "--no-self-check"]) == 1
    assert "a.yaml:18:24: error: `acknowledged_passed` `2024-13-01` is not a valid date" in capsys.readouterr().out


def test_strict_passes_on_the_bundled_knowledge_base(capsys):
    assert main(["kb", "check", "--strict"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].endswith("; 0 error(s), 0 warning(s)")


def test_a_welcome_example_no_entry_answers_is_a_located_warning_and_left_out(tmp_path, capsys):
    kdir = make_kb(tmp_path, {"a.yaml": entry("late-care-end", "潞河附校晚托到几点", "最晚到19:20。")})
    replies = kdir / "replies.yaml"
    text = replies.read_text(encoding="utf-8")
    start = text.index("welcome_examples:\n")
    end = text.index("\n#", start)
    replies.write_text(text[:start] + "welcome_examples:\n  - 潞河附校晚托到几点\n  - 月球上的社保怎么交" + text[end:],
                       encoding="utf-8")
    line = text[:start].count("\n") + 3
    assert main(["kb", "check", str(kdir)]) == 0  # a warning: the bot still loads it
    out = capsys.readouterr().out
    assert f"replies.yaml:{line}:5: warning: welcome example “月球上的社保怎么交” gets no answer" in out, out
    assert "“潞河附校晚托到几点” gets" not in out
    assert main(["kb", "check", str(kdir), "--strict"]) == 1
    capsys.readouterr()

    dialogue = make_dialogue(live=LiveKnowledge(kdir, kdir.parent / "intents"))
    welcome = dialogue.navigate("c", "welcome")
    assert [(s.label, s.entry_id) for s in welcome.suggestions] == [("潞河附校晚托到几点", "late-care-end")]


def test_welcome_examples_must_be_a_short_list_of_questions(tmp_path, capsys):
    kdir = make_kb(tmp_path, {"a.yaml": entry("late-care-end")})
    replies = kdir / "replies.yaml"
    text = replies.read_text(encoding="utf-8")
    start = text.index("welcome_examples:\n")
    end = text.index("\n#", start)
    replies.write_text(text[:start] + "welcome_examples: 潞河附校晚托到几点" + text[end:], encoding="utf-8")
    assert main(["kb", "check", str(kdir)]) == 1
    line = text[:start].count("\n") + 1
    assert (f"replies.yaml:{line}:19: error: `welcome_examples` must be a list of 1 to 8 questions"
            in capsys.readouterr().out)


def test_an_older_replies_yaml_without_a_newer_text_still_loads_with_the_bundled_one(tmp_path, capsys):
    """A knowledge directory from before a fixed text was added (a mounted copy, `kb impact --against` an
    older commit) loads: the text this version ships is used, and kb check says how to change it."""
    kdir = make_kb(tmp_path, {"a.yaml": entry("late-care-end", "潞河附校晚托到几点", "最晚到19:20。")})
    replies = kdir / "replies.yaml"
    replies.write_text("".join(line for line in replies.read_text(encoding="utf-8").splitlines(True)
                               if not line.startswith("topic_unknown:")), encoding="utf-8")
    assert main(["kb", "check", str(kdir), "--no-self-check"]) == 0
    out = capsys.readouterr().out
    assert "warning: replies.yaml has no `topic_unknown`; the bundled text is used (“没有叫“{topic}”的话题。" in out
    dialogue = make_dialogue(live=LiveKnowledge(kdir, kdir.parent / "intents"))
    assert dialogue.handle("c", "/topic 教育").text.startswith("没有叫“教育”的话题。")
