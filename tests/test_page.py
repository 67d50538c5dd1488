"""The page at /__otpsim/ in a real headless Chromium (the OS package), driven by Playwright.

OTPSIM_SCREENSHOTS=1 writes a screenshot of each view to docs/page/ (the README shows them).
"""

import os
import re
import shutil
from pathlib import Path

import httpx
import pytest

from alibaba_sms import advance, call, freeze, receipt_receiver, set_settings
from page_helpers import latest_code, send_code
from simulator.core.compose import create_simulator
from simulator.core.serving.admin import AdminSettings
from simulator.embedded import ThreadServer
from voice_helpers import Receiver, b64, call_verify, freeze_clock, verify_body
from voice_helpers import advance as voice_advance

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e '.[test]')")
expect = sync_api.expect

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[1] / "docs" / "page"
BUSY_CALLEE = "+8613900000001"   # the busy-callee recipe's number
LIVE_WITHIN_MS = 3000            # the page shows a send within a second; the margin is for a loaded CI machine

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium on this machine (the README's test command installs the OS package "
                             "`chromium`; Playwright's own browser download is not used)")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, live):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=live.url,
                                  permissions=["clipboard-read", "clipboard-write"])
    opened = context.new_page()
    errors = []
    opened.on("pageerror", lambda error: errors.append(error))
    yield opened
    context.close()
    assert errors == [], errors


def open_view(page, view: str):
    page.goto(f"/__otpsim/#{view}")
    expect(page.locator("#live")).to_have_text("live")
    expect(page.locator(f"#view-{view}")).to_be_visible()


def screenshot(page, name: str, **options):
    if os.environ.get("OTPSIM_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), **options)


def test_a_sent_code_appears_without_a_reload_and_copies(page, live, browser):
    open_view(page, "outbox")
    expect(page.locator("#outbox-empty")).to_be_visible()
    page.evaluate("window.notReloaded = true")
    assert send_code(live, "13800000000").status_code == 200
    code = latest_code(live, "13800000000")
    first = page.locator("#outbox-list li").first
    expect(first.locator(".code")).to_have_text(code, timeout=LIVE_WITHIN_MS)
    expect(first).to_contain_text("13800000000")
    expect(first).to_contain_text("osm · SendVerifyCodes")
    assert page.evaluate("window.notReloaded") is True

    first.get_by_role("button", name=f"Copy code {code}").click()
    expect(first.get_by_role("button", name=f"Copied code {code}")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == code

    assert send_code(live, "13900000000").status_code == 200
    expect(page.locator("#outbox-list li")).to_have_count(2, timeout=LIVE_WITHIN_MS)
    expect(page.locator("#outbox-list li").first).to_contain_text("13900000000")   # newest first
    screenshot(page, "outbox")
    page.get_by_label("Contact").fill("1380")
    expect(page.locator("#outbox-list li")).to_have_count(1)
    page.get_by_label("Contact").fill("nobody")
    expect(page.locator("#outbox-empty")).to_have_text("No message matches these filters.")

    for scheme, viewport, name in (("dark", {"width": 1280, "height": 800}, "outbox-dark"),
                                   ("light", {"width": 390, "height": 844}, "outbox-phone")):
        context = browser.new_context(viewport=viewport, base_url=live.url, color_scheme=scheme)
        other = context.new_page()
        open_view(other, "outbox")
        expect(other.locator("#outbox-list li")).to_have_count(2)
        if scheme == "dark":   # the page follows the system's preference
            assert other.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(247, 247, 245)"
        else:                  # nothing wider than a phone
            assert other.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(other, name)
        context.close()


def test_a_busy_callee_call_shows_its_pushes_on_the_timeline_after_a_clock_advance(page, live):
    with Receiver() as receiver, httpx.Client(base_url=live.url) as client:
        freeze_clock(client)
        open_view(page, "scenario")
        page.get_by_label("Packaged recipe").select_option("busy-callee")
        expect(page.locator("#recipe-description")).to_contain_text("busy")
        page.get_by_role("button", name="Load into editor").click()
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#scenario-message")).to_contain_text("busy-callee")
        expect(page.locator("#scenario-name")).to_have_text("busy-callee")

        body = verify_body(BUSY_CALLEE, statusUrl=b64(f"{receiver.url}/status"), feeUrl=b64(f"{receiver.url}/fee"))
        placed = call_verify(client, body)
        assert placed.status_code == 200, placed.text
        session_id = placed.json()["sessionId"]

        page.get_by_role("link", name="Clock").click()
        page.get_by_label("Advance by").fill("5")
        page.get_by_role("button", name="Advance", exact=True).click()
        expect(page.locator("#clock-message")).to_contain_text("2026-01-01 08:00:05Z")
        page.get_by_role("button", name="+1 min").click()
        expect(page.locator("#clock-message")).to_contain_text("2026-01-01 08:01:05Z")
        assert [push["body"]["eventType"] for push in receiver.pushes if push["path"] == "/status"] == \
            ["callout", "disconnect"]

        page.get_by_role("link", name="Calls and receipts").click()
        call = page.get_by_role("article", name=session_id)
        expect(call).to_be_visible(timeout=LIVE_WITHIN_MS)
        expect(call.locator(".deliveries > li")).to_have_count(3)         # callout, disconnect, fee
        expect(call.locator(".axis .dot")).to_have_count(3)
        positions = call.locator(".axis .dot").evaluate_all("(dots) => dots.map((dot) => dot.style.left)")
        assert positions[0] == "0%" and positions[-1] == "100%"   # callout first, the last push at the end
        expect(call).to_contain_text("callout")
        expect(call).to_contain_text("disconnect")
        expect(call).to_contain_text("voice.fee")
        disconnect = call.locator(".delivery", has_text="disconnect")
        disconnect.locator("summary").click()
        expect(disconnect).to_contain_text(f"{receiver.url}/status")
        expect(disconnect).to_contain_text("HTTP 200 in")
        expect(disconnect.locator("dd", has_text="***")).to_have_count(2)   # Authorization and X-AKSK masked
        expect(disconnect).not_to_contain_text("PasswordDigest")
        expect(disconnect.locator("pre.body")).to_contain_text('"stateCode"')
        screenshot(page, "calls", full_page=True)


def test_an_sms_receipt_shows_its_refused_push_and_the_retry_due(page, live):
    with Receiver() as receiver, httpx.Client(base_url=live.url) as client:
        receiver.status["/r"] = 503
        freeze(client)
        set_settings(client, "dysms", {"receipt_url": f"{receiver.url}/r", "receipt_delay_s": 0})
        open_view(page, "calls")
        sent = call(client, "dysms", "SendSms", {"PhoneNumbers": "13800000001", "SignName": "阿里云短信测试",
                                                  "TemplateCode": "SMS_154950909", "TemplateParam": '{"code": "1234"}'})
        biz_id = sent.json()["BizId"]
        advance(client, 0)
        [delivery] = client.get("/__otpsim/callbacks", params={"kind": "dysms.report"}).json()
    receipt = page.get_by_role("article", name=biz_id)                 # the timeline of that message
    expect(receipt).to_contain_text("dysms.report", timeout=LIVE_WITHIN_MS)
    expect(receipt).to_contain_text("pending")
    expect(receipt).to_contain_text(f"next attempt due {delivery['due'][:10]} {delivery['due'][11:19]}Z")
    expect(receipt.locator(".axis .dot.failed")).to_have_count(1)
    expect(receipt.locator(".axis .dot.due")).to_have_count(1)
    receipt.locator("summary").click()
    expect(receipt).to_contain_text("HTTP 503 in")
    expect(receipt.locator("pre.body")).to_contain_text(biz_id)
    screenshot(page, "receipts")


def test_a_push_that_arrives_while_the_page_reloads_its_lists_stays_shown(page, live):
    # the page's catch-up read of the deliveries is answered with the list as it was before the send,
    # and only after the delivery's live event: the event must not be undone by that older list
    held = []

    def hold(route):
        held.append((route, route.fetch()))

    page.route(re.compile(r"/__otpsim/callbacks\?masked=true$"), hold)
    with Receiver() as receiver, httpx.Client(base_url=live.url) as client:
        receiver.status["/r"] = 503
        freeze(client)
        set_settings(client, "dysms", {"receipt_url": f"{receiver.url}/r", "receipt_delay_s": 0})
        page.goto("/__otpsim/#calls")
        expect(page.locator("#live")).to_have_text("live")
        page.wait_for_timeout(200)   # the reload's read of the deliveries is held by now
        sent = call(client, "dysms", "SendSms", {"PhoneNumbers": "13800000001", "SignName": "阿里云短信测试",
                                                  "TemplateCode": "SMS_154950909", "TemplateParam": '{"code": "1234"}'})
        advance(client, 0)
        receipt = page.get_by_role("article", name=sent.json()["BizId"])
        expect(receipt).to_contain_text("dysms.report", timeout=LIVE_WITHIN_MS)   # from the live event
    assert held, "the page read its deliveries"
    for route, stale in held:
        route.fulfill(response=stale)
    page.wait_for_timeout(300)
    expect(receipt).to_contain_text("dysms.report")


def test_a_broken_scenario_shows_its_problems_at_line_and_column_and_the_old_one_still_answers(page, live):
    open_view(page, "scenario")
    editor = page.get_by_label("Scenario (YAML or JSON)")
    expect(editor).to_have_value(re.compile(r"^credentials:"))
    broken = "name: broken\nrules:\n  - match: {operation: osm.SendVerifyCode}\n    eror: OSM.0001\n"
    editor.fill(broken)
    page.get_by_role("button", name="Save").click()
    problems = page.locator("#scenario-problems li")
    expect(problems).to_have_count(2)
    expect(problems.nth(0)).to_contain_text("Line 3, column 24")
    expect(problems.nth(0)).to_contain_text("did you mean 'osm.SendVerifyCodes'")
    expect(problems.nth(1)).to_contain_text("Line 4, column 5")
    expect(page.locator("#scenario-gutter .bad")).to_have_text(["3", "4"])
    problems.nth(1).get_by_role("button").click()
    expect(page.locator("#scenario-cursor")).to_have_text("line 4, column 5")
    screenshot(page, "scenario", full_page=True)

    assert httpx.get(f"{live.url}/__otpsim/scenario").json()["name"] == "default"   # the old one stays
    assert send_code(live, "13800000001").status_code == 200                        # and answers

    editor.fill(broken.replace("SendVerifyCode}", "SendVerifyCodes}").replace("eror", "error"))
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#scenario-message")).to_contain_text("Saved")
    expect(page.locator("#scenario-name")).to_have_text("broken")
    assert send_code(live, "13800000002").json()["error_code"] == "OSM.0001"


def test_the_catalogue_answers_the_next_request_with_a_code_and_the_journal_shows_it(page, live):
    open_view(page, "catalogue")
    catalogue = page.get_by_role("region", name="Catalogue")
    catalogue.get_by_label("Product", exact=True).select_option("osm")
    catalogue.get_by_label("Next request to").select_option("osm.SendVerifyCodes")
    catalogue.get_by_label("Find").fill("OSM.01010024")
    row = page.locator("#catalogue-rows tr", has_text="OSM.01010024")
    expect(row).to_contain_text("Verify code resend too frequently.")
    catalogue.get_by_label("Find").fill("")
    screenshot(page, "catalogue")
    page.get_by_role("button", name="Answer the next request with OSM.0001", exact=True).click()
    expect(page.locator("#catalogue-message")).to_have_text(
        "The next request to osm.SendVerifyCodes is answered with OSM.0001.")
    refused = send_code(live, "13800000003")
    assert refused.status_code == 400 and refused.json()["error_code"] == "OSM.0001"
    assert send_code(live, "13800000003").status_code == 200                        # only the next one

    page.get_by_role("link", name="Journal").click()
    entries = page.locator("#journal-list > li")
    expect(entries).to_have_count(2, timeout=LIVE_WITHIN_MS)
    forced = entries.nth(1)                                                          # newest first
    expect(forced).to_contain_text("OSM.0001")
    expect(forced).to_contain_text("answer next osm.SendVerifyCodes with OSM.0001")
    page.get_by_role("region", name="Journal").get_by_label("Status").select_option("4")
    expect(entries).to_have_count(1)
    forced = entries.first
    forced.locator("summary").click()
    expect(forced.locator(".detail")).to_contain_text("13800000003")
    expect(forced.locator("dd", has_text="***").first).to_be_visible()              # Authorization masked
    assert "SDK-HMAC-SHA256" not in forced.inner_text()
    screenshot(page, "journal")


def test_a_naive_clients_findings_appear_in_the_report_view_and_a_suggested_rule_grows_the_coverage(page, live, browser):
    with Receiver() as receiver, httpx.Client(base_url=live.url) as client:
        receiver.status["/status"] = 500
        freeze_clock(client)
        open_view(page, "report")
        expect(page.locator("#report-findings-empty")).to_be_visible()
        # the user taps "resend" twice at once; the client ignores the 200 OSM.01010024 it gets back
        assert send_code(live, "13800000007").status_code == 200
        assert send_code(live, "13800000007").json()["error_code"] == "OSM.01010024"
        assert send_code(live, "13800000007").json()["error_code"] == "OSM.01010024"
        # a voice code whose call events reach a receiver answering 500
        assert call_verify(client, verify_body(statusUrl=b64(f"{receiver.url}/status"))).status_code == 200
        voice_advance(client, 120)
        pushed = [d["id"] for d in client.get("/__otpsim/callbacks", params={"kind": "voice.status"}).json()]
    assert pushed

    findings = page.locator("#report-findings > li")        # without a click: the view follows the event stream
    expect(findings).to_have_count(3, timeout=LIVE_WITHIN_MS + 2000)
    too_soon = findings.filter(has_text="throttle-retry-too-soon")
    expect(too_soon).to_contain_text("osm.SendVerifyCodes repeated sooner than 60s after OSM.01010024")
    expect(too_soon.get_by_role("link", name="journal entry 2")).to_be_visible()
    expect(too_soon.get_by_role("link", name="journal entry 3")).to_be_visible()
    expect(findings.filter(has_text="resend-inside-interval").locator("a")).to_have_text(["#1", "#2", "#3"])
    refused = findings.filter(has_text="receiver-refused")
    for delivery in pushed:
        expect(refused.get_by_role("link", name=f"delivery {delivery}")).to_be_visible()
    expect(page.locator("#count-report")).to_have_text("(3)")

    osm = page.get_by_role("article", name=re.compile(r"^Huawei Cloud OSM "))
    documented = len(httpx.get(f"{live.url}/__otpsim/catalogue/osm").json())
    expect(osm.locator("h4")).to_contain_text(f"1 of {documented} codes met")
    expect(osm.locator(".report-met tbody tr")).to_have_text([re.compile(r"^OSM\.01010024\s*200\s*2\s*simulator")])
    osm.locator(".unmet > summary").click()
    unmet = osm.locator(".report-unmet tbody tr", has_text="OSM.0001")
    expect(unmet.first).to_contain_text("header X-Otpsim-Error: OSM.0001 on osm.SendVerifyCodes")
    screenshot(page, "report", full_page=True)

    page.get_by_role("button", name="Add a rule that answers OSM.0001 once", exact=True).click()
    expect(page.locator("#report-message")).to_contain_text("the next osm.SendVerifyCodes request is answered with OSM.0001")
    assert send_code(live, "13800000008").json()["error_code"] == "OSM.0001"
    expect(osm.locator("h4")).to_contain_text(f"2 of {documented} codes met", timeout=LIVE_WITHIN_MS + 2000)
    # the report read again after that request keeps the rule's confirmation
    expect(page.locator("#report-message")).to_contain_text("the next osm.SendVerifyCodes request is answered with OSM.0001")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live.url, color_scheme="dark")
    small = phone.new_page()
    open_view(small, "report")
    expect(small.locator("#report-findings > li")).to_have_count(3)
    small.locator(".unmet > summary").first.click()
    assert small.evaluate("document.documentElement.scrollWidth") <= 390   # nothing wider than a phone
    small.evaluate("window.scrollTo(0, 0)")
    screenshot(small, "report-phone")
    phone.close()

    too_soon.get_by_role("link", name="journal entry 2").click()   # the evidence opens in the journal
    expect(page.locator("#view-journal")).to_be_visible()
    expect(page.locator('#journal-list details[data-id="2"] .detail')).to_contain_text("13800000007")


def test_an_sms_receipt_shows_in_the_reports_pushes_and_a_push_fault_rule_is_one_click_away(page, live, browser):
    receipt = {"PhoneNumbers": "13800000009", "SignName": "阿里云短信测试", "TemplateCode": "SMS_154950909",
               "TemplateParam": '{"code": "1234"}'}
    with receipt_receiver() as receiver, httpx.Client(base_url=live.url) as client:
        receiver.replies = [(503, b"")]   # the receipt's first attempt is refused; the retry is taken
        freeze(client)
        set_settings(client, "dysms", {"receipt_url": f"{receiver.url}/r", "receipt_delay_s": 0})
        open_view(page, "report")
        expect(page.locator("#report-pushes-empty")).to_contain_text("No push yet: ")
        assert call(client, "dysms", "SendSms", receipt).status_code == 200
        advance(client, 0)
        advance(client, 600)              # past the retry's due time
        assert len(receiver.bodies("/r")) == 2

        pushes = page.get_by_role("article", name="dysms.report · after dysms.SendSms")
        facts = pushes.locator("dd")      # deliveries, states, your answers, outcomes, push faults met
        expect(facts).to_have_text(["1, 1 retried", "delivered ×1", "200 ×1, 503 ×1", "none", "none"],
                                   timeout=LIVE_WITHIN_MS + 2000)
        expect(page.locator("#report-pushes-empty")).to_be_hidden()
        expect(pushes.locator(".report-push-faults tbody td:first-child")).to_have_text(
            ["drop", "duplicate", "delay", "out_of_order"])

        page.get_by_role("button", name="Add a rule that makes dysms.report pushes meet drop", exact=True).click()
        expect(page.locator("#report-message")).to_have_text(
            "Rule “push-drop” added: the dysms.report pushes of the next dysms.SendSms request meet drop.")
        first = client.get("/__otpsim/scenario").json()["rules"][0]
        assert first == {"name": "push-drop", "match": {"operation": "dysms.SendSms"}, "times": 1,
                         "callbacks": {"kinds": ["dysms.report"], "drop": 1.0}}
        assert call(client, "dysms", "SendSms", receipt).status_code == 200
        advance(client, 0)
    assert len(receiver.bodies("/r")) == 2   # the new receipt was dropped
    expect(facts.last).to_have_text("drop", timeout=LIVE_WITHIN_MS + 2000)
    expect(pushes.locator(".report-push-faults tbody tr")).to_have_count(3)
    screenshot(page, "report-pushes", full_page=True)

    phone = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live.url)
    small = phone.new_page()
    open_view(small, "report")
    expect(small.locator(".report-push-faults tbody tr")).to_have_count(3)
    assert small.evaluate("document.documentElement.scrollWidth") <= 390   # nothing wider than a phone
    phone.close()


def test_the_clock_view_freezes_sets_and_returns_to_real_time(page, live):
    open_view(page, "clock")
    page.get_by_role("button", name="Freeze (manual)").click()
    expect(page.locator("#clock-mode")).to_have_text("frozen")
    page.get_by_label("Set to (UTC)").fill("2030-05-06T07:08:09Z")
    page.get_by_role("button", name="Set", exact=True).click()
    expect(page.locator("#clock-big")).to_have_text("2030-05-06 07:08:09Z")
    page.get_by_label("Advance by").fill("90")
    page.get_by_role("button", name="Advance", exact=True).click()
    expect(page.locator("#clock-now")).to_have_text("2030-05-06 07:09:39Z")
    assert httpx.get(f"{live.url}/__otpsim/clock").json()["now"].startswith("2030-05-06T07:09:39")
    screenshot(page, "clock")
    page.get_by_label("Set to (UTC)").fill("yesterday")
    page.get_by_label("Set to (UTC)").press("Enter")   # the field's pattern refuses it before any call
    expect(page.locator("#clock-big")).to_have_text("2030-05-06 07:09:39Z")
    page.get_by_role("button", name="Back to real time").click()
    expect(page.locator("#clock-mode")).to_have_text("running")
    expect(page.locator("#clock-offset")).to_have_text("none")           # the wall time again
    assert abs(httpx.get(f"{live.url}/__otpsim/clock").json()["offset_s"]) < 5


def test_every_control_has_a_name_and_the_views_work_from_the_keyboard(page, live):
    open_view(page, "outbox")
    unnamed = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea, button')]
        .filter((el) => !el.closest('dialog'))
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
        .map((el) => el.outerHTML)""")
    assert unnamed == []
    page.keyboard.press("Tab")                      # the skip link first
    expect(page.locator(".skip")).to_be_focused()
    for _ in range(4):                              # the title, then Outbox, Calls and receipts, Journal
        page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Journal")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#view-journal")).to_be_visible()
    expect(page.get_by_role("link", name="Journal")).to_have_attribute("aria-current", "page")


def test_the_page_asks_for_the_admin_token_once_and_keeps_it_for_the_session(browser):
    with ThreadServer(create_simulator(admin=AdminSettings(token="s3cret"))) as locked:
        context = browser.new_context(base_url=locked.url)
        page = context.new_page()
        refused_by_policy = []
        page.on("console", lambda message: "Content Security Policy" in message.text and refused_by_policy.append(message.text))
        page.goto("/__otpsim/")
        token = page.get_by_label("Admin token")
        expect(token).to_be_visible()
        token.fill("wrong")
        token.press("Enter")
        expect(page.get_by_role("alert")).to_have_text("That token was refused. Try again.")
        page.get_by_label("Admin token").fill("s3cret")
        page.get_by_role("button", name="Open the page").click()
        expect(page).to_have_url(f"{locked.url}/__otpsim/")
        expect(page.locator("#live")).to_have_text("live")             # the event stream carries the cookie
        [cookie] = context.cookies()
        assert (cookie["name"], cookie["path"], cookie["httpOnly"], cookie["sameSite"]) == (
            "otpsim_admin_token", "/__otpsim", True, "Strict")
        assert cookie["expires"] == -1                                   # for the browser session only
        assert send_code(locked, "13800000005").status_code == 200      # vendor routes need no token
        expect(page.locator("#outbox-list li")).to_have_count(1, timeout=LIVE_WITHIN_MS)
        page.reload()
        expect(page.locator("#live")).to_have_text("live")
        expect(page.get_by_label("Admin token")).to_have_count(0)
        expect(page.locator("#outbox-list li")).to_have_count(1)
        assert refused_by_policy == []                                   # the form's style is allowed by its hash
        context.close()
        other_session = browser.new_context(base_url=locked.url).new_page()
        other_session.goto("/__otpsim/")
        expect(other_session.get_by_label("Admin token")).to_be_visible()
        other_session.context.close()
