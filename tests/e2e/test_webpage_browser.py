"""The chat page in a real headless Chromium, served by a real `serve` host on 127.0.0.1, used the way a
resident on a phone uses it: by touch and by keyboard alone, in simplified and traditional script, with a
network that fails once, a server slower than the page waits, by someone typing HTML at it, and by a resident
who says what was wrong with an answer. One browser for the module; one server, and one whose page gives up
waiting after WEBPAGE_REPLY_TIMEOUT of a second and a half."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading

import pytest

from bot.app import build_app
from bot.channels.webpage.session import COOKIE
from bot.config import load_settings
from bot.ratelimit import InProcessRateLimiter
from bot.reports.report import build_report, render_text
from bot.server import create_web_app
from tests.auxil import browser as browser_support
from tests.auxil.browser import artifacts_dir, launch, require_browser, serving
from tests.auxil.kb import BUNDLED, INTENTS, ROOT

# One browser and one server for the module: its tests go to one worker (pytest-xdist, --dist loadgroup).
pytestmark = pytest.mark.xdist_group("webpage-browser")

PHONE = {"width": 390, "height": 844}  # a common phone's CSS viewport
LABEL = "您的问题"


@pytest.fixture(scope="module")
def browser():
    """Module-scoped, not session-scoped: Playwright's sync API runs its event loop in this thread while the
    browser is open, which would stop every later asyncio test of the same worker from starting its own."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def site(browser, tmp_path_factory):
    """(base URL, app): one `serve` host for the module."""
    tmp = tmp_path_factory.mktemp("webpage")
    app = build_app(load_settings(database_url=f"sqlite:///{tmp}/page.sqlite3", user_id_salt="browser-salt",
                                  redis_url="", knowledge_dir=BUNDLED, intents_dir=INTENTS))
    with serving(create_web_app(app, telegram=False, limiter=InProcessRateLimiter(100))) as base:
        yield base, app


@pytest.fixture
def errors() -> list[str]:
    return []


@pytest.fixture(scope="module")
def slow_site(browser, tmp_path_factory):
    """(base URL, app, gate): a `serve` host whose page waits 1.5 s for a reply (WEBPAGE_REPLY_TIMEOUT), and
    a gate a test closes to hold typed questions on the server, as a busy server would."""
    tmp = tmp_path_factory.mktemp("webpage-slow")
    app = build_app(load_settings(database_url=f"sqlite:///{tmp}/slow.sqlite3", user_id_salt="browser-salt",
                                  redis_url="", knowledge_dir=BUNDLED, intents_dir=INTENTS,
                                  webpage_reply_timeout=1.5))
    gate = threading.Event()
    gate.set()
    handle = app.dialogue.handle

    def held(*args, **kwargs):
        gate.wait(30)
        return handle(*args, **kwargs)

    app.dialogue.handle = held  # type: ignore[method-assign]
    with serving(create_web_app(app, telegram=False, limiter=InProcessRateLimiter(100))) as base:
        yield base, app, gate
    gate.set()


def open_tab(browser, base: str, errors: list[str]):
    """A fresh phone-sized tab (its own session) on the page, noting any script error or console error (a
    Content-Security-Policy or Trusted Types violation among them)."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="zh-CN")
    tab = context.new_page()
    tab.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    tab.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    tab.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    tab.goto(base + "/")
    bot_messages(tab).first.wait_for()  # the welcome
    return context, tab


@pytest.fixture
def page(browser, site, errors):
    """A tab on the module's server; the test fails on any script or console error."""
    context, tab = open_tab(browser, site[0], errors)
    yield tab
    context.close()
    assert errors == []


@pytest.fixture
def slow_page(browser, slow_site, errors):
    context, tab = open_tab(browser, slow_site[0], errors)
    yield tab
    context.close()
    assert errors == []


def bot_messages(tab):
    return tab.locator("#log .msg.bot")


def last_reply(tab, count_before: int):
    """The reply after `count_before` bot messages, once it is there."""
    reply = bot_messages(tab).nth(count_before)
    reply.wait_for()
    return reply


def type_and_send(tab, text: str):
    before = bot_messages(tab).count()
    box = tab.get_by_label(LABEL)
    box.fill(text)
    box.press("Enter")
    return last_reply(tab, before)


def stored_feedback(app):
    assert app.storage.flush(10) == 0
    return app.repository.feedback(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))


def contrast(fg: str, bg: str) -> float:
    def luminance(css: str) -> float:
        r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css)[:3])
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_a_question_its_sourced_answer_and_feedback(page, site):
    welcome = bot_messages(page).first
    assert welcome.locator(".suggestions button").count() >= 3  # example questions to tap
    answer = type_and_send(page, "潞河附校晚托到几点")
    assert "19:20" in answer.locator("p.answer").inner_text()
    source = answer.locator("p.source").inner_text()
    assert source.startswith("来源：") and source.endswith("2021年12月28日")
    assert page.get_by_label(LABEL).input_value() == ""  # sent: the box is ready for the next question
    assert page.locator("#log .msg.you").last.inner_text().endswith("潞河附校晚托到几点")
    helpful = answer.get_by_role("button", name="有帮助")
    helpful.click()
    answer.locator(".thanks").wait_for()
    assert answer.locator(".thanks").inner_text() == "谢谢您的反馈！"
    assert helpful.get_attribute("aria-pressed") == "true" and helpful.is_disabled()
    assert answer.get_by_role("button", name="没帮助").is_disabled()
    interaction = stored_feedback(site[1])
    assert [f.helpful for f in interaction] == [True]
    shot = artifacts_dir() / "webpage-phone.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000


def test_a_numbered_choice_and_a_follow_up(page):
    clarify = type_and_send(page, "一键呼")
    choices = clarify.locator(".choices button")
    labels = choices.all_inner_texts()
    assert len(labels) == 4 and labels[0].startswith("1. ") and labels[-1].endswith("都不是")
    before = bot_messages(page).count()
    choices.first.click()
    answer = last_reply(page, before)
    assert answer.locator("p.source").count() == 1
    assert page.locator("#log .msg.you").last.inner_text().endswith(labels[0])
    # A follow-up that only makes sense after the question before it.
    type_and_send(page, "潞河附校晚托到几点")
    follow_up = type_and_send(page, "那谁能参加")
    assert "接走的学生" in follow_up.locator("p.answer").inner_text()
    # The topics button lists topics as numbered buttons, then a topic's questions, then an answer.
    before = bot_messages(page).count()
    page.get_by_role("button", name="按话题找问题").click()
    topics = last_reply(page, before)
    before += 1
    topics.locator(".choices button").first.click()
    questions = last_reply(page, before)
    before += 1
    questions.locator(".choices button").first.click()
    assert last_reply(page, before).locator("p.source").count() == 1


def test_traditional_in_traditional_out(page):
    answer = type_and_send(page, "潞河附校晚託到幾點")
    assert answer.get_attribute("lang") == "zh-Hant"
    assert answer.locator("p.source").inner_text().startswith("來源：")
    assert answer.get_by_role("button", name="有幫助").count() == 1
    assert "這個回答有幫助嗎" in answer.locator(".feedback").inner_text()


def test_a_hostile_message_is_shown_as_text_and_runs_nothing(page):
    page.evaluate("window.__ran = 0")
    for hostile in ("<img src=x onerror=\"window.__ran=1;alert(1)\">", "<script>window.__ran=2;alert(2)</script>",
                    "<svg/onload=alert(3)>"):
        type_and_send(page, hostile)
        assert page.locator("#log .msg.you p").last.inner_text() == hostile
    assert page.locator("#log img, #log script, #log svg").count() == 0
    assert page.evaluate("window.__ran") == 0  # and the page fixture fails on any dialog


def test_keyboard_only(page, site):
    focused = "(() => { const e = document.activeElement; return (e.id || e.textContent || e.tagName).trim(); })()"
    # From the top: the skip link, the two tools, the welcome's example questions, the box, send.
    page.keyboard.press("Tab")
    assert page.evaluate(focused) == LABEL
    order = []
    for _ in range(12):
        page.keyboard.press("Tab")
        order.append(page.evaluate(focused))
    assert order[:2] == ["按话题找问题", "怎么问"]
    assert order.index("question") < order.index("send")
    assert order.index("question") > 2  # the welcome's buttons come before the box, in reading order
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # the focus is visible
    # Ask by keyboard, then reach the new answer's 有帮助 going back from the box, and press it.
    page.get_by_label(LABEL).focus()
    before = bot_messages(page).count()
    page.keyboard.type("潞河附校晚托到几点")
    page.keyboard.press("Enter")
    answer = last_reply(page, before)
    for _ in range(8):
        page.keyboard.press("Shift+Tab")
        if page.evaluate(focused) == "没帮助":
            break
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(focused) == "有帮助"
    page.keyboard.press("Enter")
    answer.locator(".thanks").wait_for()
    # Shift+Enter is a new line, not a send.
    box = page.get_by_label(LABEL)
    box.focus()
    page.keyboard.type("第一行")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("第二行")
    assert box.input_value() == "第一行\n第二行"


def test_a_failed_request_keeps_what_was_typed(page, errors):
    page.route("**/web/messages", lambda route: route.abort("timedout"))
    box = page.get_by_label(LABEL)
    box.fill("厂通路什么时候通车")
    box.press("Enter")
    problem = page.get_by_role("alert")
    problem.get_by_role("button", name="重试").wait_for()
    assert "您输入的内容还在" in problem.inner_text()
    assert box.input_value() == "厂通路什么时候通车"
    page.unroute("**/web/messages")
    assert errors == ["console: Failed to load resource: net::ERR_TIMED_OUT"]  # the request we broke
    errors.clear()
    before = bot_messages(page).count()
    problem.get_by_role("button", name="重试").click()
    assert last_reply(page, before).locator("p.source").count() == 1
    assert box.input_value() == "" and problem.is_hidden()
    # An empty question is refused in the page, with its message.
    box.press("Enter")
    assert "请先输入您的问题" in page.get_by_role("alert").inner_text()


def test_an_expired_session_is_renewed_without_losing_the_question(page, errors):
    context = page.context
    [cookie] = [c for c in context.cookies() if c["name"] == COOKIE]
    refused = cookie["value"][:-4] + "AAAA"  # what the server says of an expired or foreign one: no session
    context.add_cookies([{"name": COOKIE, "value": refused, "domain": cookie["domain"], "path": cookie["path"],
                          "httpOnly": True, "sameSite": "Strict"}])
    answer = type_and_send(page, "潞河附校晚托到几点")
    assert "19:20" in answer.locator("p.answer").inner_text()
    [renewed] = [c for c in context.cookies() if c["name"] == COOKIE]
    assert renewed["value"] not in (refused, cookie["value"]) and renewed["httpOnly"]
    assert [e for e in errors if "403" not in e] == []  # the refused first try, and nothing else
    errors.clear()


def test_text_colours_meet_wcag_aa(page):
    type_and_send(page, "潞河附校晚托到几点")
    pairs = page.evaluate("""() => {
        const bg = (e) => { for (; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;
                            if (c !== 'rgba(0, 0, 0, 0)') return c; } return 'rgb(255, 255, 255)'; };
        const sel = ['h1', '.intro', '.msg.you p', '.msg.bot p.answer', '.msg.bot p.source', '.options button',
                     '.feedback button', '.feedback p', '.send', '.label', '.hint', '.footer-note', '.tool'];
        return sel.map(s => { const e = document.querySelector(s);
                              return [s, getComputedStyle(e).color, bg(e)]; });
    }""")
    low = [(s, round(contrast(fg, bg), 2)) for s, fg, bg in pairs if contrast(fg, bg) < 4.5]
    assert low == []


def test_without_a_browser_a_laptop_skips_and_ci_fails(monkeypatch):
    monkeypatch.setattr(browser_support, "CHROMIUM", "/nonexistent/chromium")
    for name in ("CI", "TEST_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no Chromium at /nonexistent/chromium"):
        require_browser()
    for name in ("CI", "TEST_DATABASE_URL"):
        with monkeypatch.context() as m:
            m.setenv(name, "1")
            with pytest.raises(pytest.fail.Exception, match="must run in CI"):
                require_browser()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "apt-get install -y -qq --no-install-recommends chromium" in ci
    assert ci.index("chromium") < ci.index("python -m pytest")  # installed before the tests run


def stored_questions(app, text: str) -> list:
    assert app.storage.flush(10) == 0
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    return [r for r in app.repository.interactions(since) if r.text == text]


def test_a_retry_after_a_slow_reply_gets_one_reply_and_one_record(slow_page, slow_site):
    _base, app, gate = slow_site
    sent = []
    slow_page.on("request", lambda r: sent.append(json.loads(r.post_data)) if r.url.endswith("/web/messages")
                 else None)
    question = "厂通路什么时候通车"
    before = bot_messages(slow_page).count()
    gate.clear()  # the server is busy: the question waits there longer than the page does
    box = slow_page.get_by_label(LABEL)
    box.fill(question)
    box.press("Enter")
    problem = slow_page.get_by_role("alert")
    retry = problem.get_by_role("button", name="重试")
    retry.wait_for()  # the page gave up after 1.5 s and kept the question
    assert box.input_value() == question and bot_messages(slow_page).count() == before
    retry.click()  # the resident retries while the first attempt is still being answered
    gate.set()  # the server catches up
    answer = last_reply(slow_page, before)
    assert answer.locator("p.source").count() == 1 and problem.is_hidden()
    slow_page.wait_for_timeout(300)  # nothing more arrives
    assert bot_messages(slow_page).count() == before + 1
    assert slow_page.locator("#log .msg.you").filter(has_text=question).count() == 1
    asked = [body for body in sent if body.get("text") == question]
    assert len(asked) == 2 and asked[0]["message_id"] == asked[1]["message_id"]  # one message, sent twice
    assert re.fullmatch(r"[0-9a-f]{32}", asked[0]["message_id"])
    [record] = stored_questions(app, question)  # answered and recorded once
    assert record.status == "answer"
    # The next question is a new message with its own id.
    assert "19:20" in type_and_send(slow_page, "潞河附校晚托到几点").inner_text()
    assert sent[-1]["message_id"] != asked[0]["message_id"]


def test_not_helpful_then_a_comment_reaches_the_report(page, site):
    app = site[1]
    question = "一键呼怎么收费"
    answer = type_and_send(page, question)
    answer.get_by_role("button", name="没帮助").click()
    comment = answer.get_by_label("哪里没帮上？可以简单说一下（可不填）")
    comment.wait_for()  # offered after 没帮助 only, one line, limited
    assert answer.locator(".thanks").first.inner_text().startswith("抱歉没能帮上忙")
    assert comment.get_attribute("type") == "text" and comment.get_attribute("maxlength") == "200"
    comment.fill("想知道具体多少钱")
    comment.press("Enter")
    thanks = answer.locator(".thanks").nth(1)
    thanks.wait_for()
    assert thanks.inner_text() == "收到您的意见，谢谢！我们会据此改进回答。" and comment.count() == 0
    [rating] = [f for f in stored_feedback(app) if f.comment]
    assert (rating.helpful, rating.comment) == (False, "想知道具体多少钱")
    # The tab reloaded shows the thanks, not the box again.
    page.reload()
    again = bot_messages(page).filter(has_text="收到您的意见")
    again.wait_for()
    assert again.get_by_role("textbox").count() == 0
    # Administrators read it in the report of unhelpful answers, beside what was asked.
    report = render_text(build_report(app.repository, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)))
    assert f"想知道具体多少钱  (asked: {question})" in report
    # 有帮助 offers no box.
    other = type_and_send(page, "潞河附校晚托到几点")
    other.get_by_role("button", name="有帮助").click()
    other.locator(".thanks").wait_for()
    assert other.get_by_role("textbox").count() == 0
