"""CallVerify and the call it plays out: status and fee pushes to a real receiver, on the virtual clock."""

import base64
import hashlib
import hmac
import re
from datetime import timedelta

import pytest

from voice_helpers import (
    APP_KEY, APP_SECRET, CALL_VERIFY, FEE_SCHEMA, RESULT_SCHEMA, STATUS_SCHEMA, T0, advance, aksk_headers, b64,
    call_verify, deliveries, outcome_rule, place, use_scenario, verify_body,
)

pytestmark = pytest.mark.both_stores   # the same behaviour in memory and on Redis

SESSION_ID = re.compile(r"^120[01]_\d{3}_\d+_\d{14}@callenabler245\.huaweicaas\.com$")


def stamp(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")


def assert_valid_pushes(receiver):
    for status_body in receiver.bodies("/status"):
        STATUS_SCHEMA.validate(status_body)
    for fee_body in receiver.bodies("/fee"):
        FEE_SCHEMA.validate(fee_body)


def test_answered_call_plays_out_in_order_then_pushes_its_fee(client, receiver, world):
    session_id = place(client, world(posTone="postone.wav", userData="order-42", bindNbr="+8653159510000"))
    assert SESSION_ID.match(session_id)
    message = client.get("/__otpsim/outbox/latest", params={"to": "+8613800000001"}).json()
    assert (message["channel"], message["code"]) == ("voice", "123456")
    assert message["text"] == "[pretone.wav] 123456 123456 123456 [postone.wav]"

    advance(client, 0)
    assert receiver.events() == ["callout"]
    advance(client, 30)   # alerting +4, answer +12, then 3 s tones twice and 3 readings of 4 s
    assert receiver.events() == ["callout", "alerting", "answer", "disconnect"]
    statuses = receiver.bodies("/status")
    assert [s["statusInfo"]["timestamp"] for s in statuses] == [stamp(0), stamp(4), stamp(12), stamp(30)]
    assert all(s["statusInfo"]["sessionId"] == session_id for s in statuses)
    assert statuses[0]["statusInfo"] == {"sessionId": session_id, "timestamp": stamp(0), "caller": "+8653159511234",
                                         "called": "+8613800000001", "userData": "order-42"}
    assert statuses[-1]["statusInfo"]["stateCode"] == 0
    assert receiver.bodies("/fee") == []

    advance(client, 1)
    [fee] = receiver.bodies("/fee")
    [record] = fee["feeLst"]
    assert fee["eventType"] == "fee"
    assert record == {
        "direction": 0, "spId": "CaaS_Test_01", "appKey": APP_KEY, "icid": record["icid"],
        "bindNum": "+8653159510000", "sessionId": session_id, "callerNum": "+8653159511234",
        "calleeNum": "+8613800000001", "callEndTime": stamp(30), "callOutStartTime": stamp(0),
        "callOutAlertingTime": stamp(4), "callOutAnswerTime": stamp(12), "ulFailReason": 0, "recordFlag": 0,
        "ttsPlayTimes": 3, "serviceType": "001", "hostName": "callenabler245.huaweicaas.com", "userData": "order-42",
    }
    assert_valid_pushes(receiver)


@pytest.mark.parametrize("outcome, events, seconds, state_code, fail_reason, q850", [
    ("no_answer", ["callout", "alerting", "disconnect"], 49, 8101, 518, 19),
    ("ring_timeout", ["callout", "alerting", "disconnect"], 49, 8003, 514, 19),
    ("rejected", ["callout", "alerting", "disconnect"], 9, 8004, 518, 21),
    ("busy", ["callout", "disconnect"], 2, 8102, 518, 17),
    ("powered_off", ["callout", "disconnect"], 2, 8104, 518, 20),
    ("not_exist", ["callout", "disconnect"], 2, 8100, 518, 1),
])
def test_unanswered_outcomes_follow_the_documented_sequences(client, receiver, world, outcome, events, seconds,
                                                             state_code, fail_reason, q850):
    use_scenario(client, rules=[outcome_rule(outcome)])
    place(client, world(callee="+8613800000002"))
    advance(client, seconds - 1)
    assert receiver.events() == events[:-1]
    advance(client, 1)
    assert receiver.events() == events
    disconnect = receiver.bodies("/status")[-1]["statusInfo"]
    assert disconnect["stateCode"] == state_code and disconnect["timestamp"] == stamp(seconds)
    advance(client, 1)
    [record] = receiver.bodies("/fee")[0]["feeLst"]
    assert record["ulFailReason"] == fail_reason and record["callOutUnaswRsn"] == q850
    assert record["failTime"] == record["callEndTime"] == stamp(seconds)
    assert "callOutAnswerTime" not in record and record["ttsPlayTimes"] == 0
    assert ("callOutAlertingTime" in record) == ("alerting" in events)
    assert client.get("/__otpsim/outbox", params={"to": "+8613800000002"}).json() == []
    assert_valid_pushes(receiver)


def test_a_rule_can_give_the_events_explicitly(client, receiver, world):
    events = [{"event": "callout"}, {"event": "alerting", "after_s": 1},
              {"event": "disconnect", "after_s": 2, "stateCode": 8103}]
    use_scenario(client, rules=[{"match": {"operation": "voice.CallVerify"}, "call": {"events": events}}])
    place(client, world())
    advance(client, 4)
    assert receiver.events() == ["callout", "alerting", "disconnect"]
    assert receiver.bodies("/status")[-1]["statusInfo"]["stateCode"] == 8103
    assert receiver.bodies("/fee")[0]["feeLst"][0]["ulFailReason"] == 8103   # 7001 and up: the stateCode
    assert_valid_pushes(receiver)


def test_times_zero_loops_until_the_callee_hangs_up(client, receiver, world):
    place(client, world(times=0))
    assert client.get("/__otpsim/outbox/latest", params={"to": "+8613800000001"}).json()["text"] == \
        "[pretone.wav] 123456 123456"
    advance(client, 24)   # answer at +12, one tone and 2 readings of 4 s
    assert receiver.events()[-1] == "disconnect"
    advance(client, 1)
    assert receiver.bodies("/fee")[0]["feeLst"][0]["ttsPlayTimes"] == 2


def test_a_failed_status_push_is_not_retried(client, receiver, world):
    receiver.status["/status"] = 503
    place(client, world())
    advance(client, 31)
    statuses = deliveries(client, "voice.status")
    assert [d["body"]["eventType"] for d in statuses] == ["callout", "alerting", "answer", "disconnect"]
    assert all(d["state"] == "failed" and len(d["attempts"]) == 1 for d in statuses)
    advance(client, 3600)
    assert len(receiver.bodies("/status")) == 4
    assert deliveries(client, "voice.fee")[0]["state"] == "delivered"


def test_a_failed_fee_push_is_retried_hourly_six_times(client, receiver, world):
    receiver.status["/fee"] = 500
    place(client, world())
    advance(client, 31)
    assert len(receiver.bodies("/fee")) == 1
    advance(client, 3599)
    assert len(receiver.bodies("/fee")) == 1
    for hour in range(6):
        advance(client, 3600)
    [delivery] = deliveries(client, "voice.fee")
    assert len(receiver.bodies("/fee")) == 7 and len(delivery["attempts"]) == 7
    assert delivery["state"] == "failed"
    advance(client, 3600)
    assert len(receiver.bodies("/fee")) == 7


def test_a_fee_push_stops_retrying_once_answered_with_200(client, receiver, world):
    receiver.status["/fee"] = 500
    place(client, world())
    advance(client, 31)
    advance(client, 3600)
    receiver.status["/fee"] = 200
    advance(client, 3600)
    [delivery] = deliveries(client, "voice.fee")
    assert [a["status"] for a in delivery["attempts"]] == [500, 500, 200] and delivery["state"] == "delivered"


def test_fee_records_ending_in_the_same_second_are_merged_up_to_the_maximum(client, receiver, world):
    use_scenario(client, settings={"fee_merge_max": 2})
    together = [place(client, world(callee=f"+861350000001{n}")) for n in range(3)]
    advance(client, 1)
    later = place(client, world(callee="+8613500000019"))
    advance(client, 31)
    batches = [[record["sessionId"] for record in body["feeLst"]] for body in receiver.bodies("/fee")]
    # batches due at the same moment are pushed concurrently, so they may arrive in either order
    assert sorted(batches) == sorted([together[:2], together[2:], [later]])
    assert_valid_pushes(receiver)


def test_pushes_are_signed_with_the_apps_secret_over_url_nonce_and_created(client, receiver, world):
    place(client, world())
    advance(client, 0)
    [push] = receiver.pushes
    assert push["headers"]["Authorization"] == 'AKSK realm="SDP",profile="UsernameToken",type="Appkey"'
    assert push["headers"]["Content-Type"] == "application/json;charset=UTF-8"
    token = dict(re.findall(r'(\w+)="([^"]*)"', push["headers"]["X-AKSK"]))
    assert token["Username"] == APP_KEY
    assert token["Created"] == "2026-01-01T16:00:00Z"   # UTC+8 wall time, suffixed Z
    text = f"{receiver.url}/status\n{token['Nonce']}\n{token['Created']}"
    expected = base64.b64encode(hmac.new(APP_SECRET.encode(), text.encode(), hashlib.sha256).digest()).decode()
    assert token["PasswordDigest"] == expected


def test_unsigned_pushes_when_the_setting_is_off(client, receiver, world):
    use_scenario(client, settings={"sign_pushes": False})
    place(client, world())
    advance(client, 0)
    assert "X-AKSK" not in receiver.pushes[0]["headers"] and "Authorization" not in receiver.pushes[0]["headers"]


def test_more_concurrent_calls_than_voice_ports_is_insufficient_voice_ports(client, receiver, world):
    use_scenario(client, settings={"voice_ports": 2})
    first = call_verify(client, world(returnIdlePort="true")).json()
    assert first["idlePort"] == 1
    assert "idlePort" not in call_verify(client, world()).json()
    refused = call_verify(client, world())
    assert refused.status_code == 500
    assert refused.json() == {"resultcode": "1020154", "resultdesc": "Insufficient voice ports.", "sessionId": ""}
    advance(client, 30)   # both calls disconnect
    assert call_verify(client, world(returnIdlePort="true")).json()["idlePort"] == 1


@pytest.mark.parametrize("limit, code, second_body", [
    ("sp_calls", "1013001", {"calleeNbr": "+8613500000099", "displayNbr": "+8653159519999"}),
    ("app_calls", "1013002", {"calleeNbr": "+8613500000099", "displayNbr": "+8653159519999"}),
    ("display_calls", "1013003", {"calleeNbr": "+8613500000099"}),
    ("caller_calls", "1013116", {"calleeNbr": "+8613500000099"}),
    ("callee_calls", "1013117", {"displayNbr": "+8653159519999"}),
    ("service_number_calls", "1013118", {"calleeNbr": "+8613500000099"}),
])
def test_call_frequency_limits_when_configured(client, world, limit, code, second_body):
    use_scenario(client, settings={f"{limit}_max": 1, f"{limit}_window_s": 60})
    assert call_verify(client, world()).status_code == 200
    refused = call_verify(client, {**world(), **second_body})
    assert refused.status_code == 403 and refused.json()["resultcode"] == code
    advance(client, 60)
    assert call_verify(client, {**world(), **second_body}).status_code == 200


@pytest.mark.parametrize("fields, status, code", [
    ({"statusUrl": b64("http://127.0.0.1:9/voice_status")}, 500, "1020001"),
    ({"feeUrl": "aHR0cDovLzEyNy4wLjAuMTo5MC9mZWU"}, 500, "1020001"),   # Base64 without its padding
    ({"displayNbr": "123"}, 403, "1010023"),
    ({"bindNbr": ""}, 500, "1020151"),
    ({"verifyCode": "12ab"}, 500, "1020001"),
    ({"userData": "{json}"}, 500, "1020001"),
    ({"returnIdlePort": True}, 500, "1020001"),
])
def test_bad_fields_get_their_documented_codes(client, world, fields, status, code):
    response = call_verify(client, world(**fields))
    assert response.status_code == status
    assert response.json()["resultcode"] == code
    RESULT_SCHEMA.validate(response.json())


def test_missing_field_broken_json_and_unknown_path(client, world):
    body = world()
    del body["preTone"]
    assert call_verify(client, body).json()["resultcode"] == "1020001"
    broken = client.post(CALL_VERIFY, content=b"{",
                         headers={"content-type": "application/json", **aksk_headers()})
    assert (broken.status_code, broken.json()["resultcode"]) == (403, "1010002")
    unknown = client.post("/rest/httpsessions/nothing/v1.0", json={})
    assert (unknown.status_code, unknown.json()["resultcode"]) == (403, "1010006")


def test_a_port_is_busy_until_the_moment_its_call_disconnects(client, world):
    use_scenario(client, settings={"voice_ports": 1})
    place(client, world())
    advance(client, 26.9)   # answered at +12, a 3 s tone and three readings of 4 s: it disconnects at +27 s
    assert call_verify(client, world("+8613800000022")).json()["resultcode"] == "1020154"
    advance(client, 0.1)
    assert place(client, world("+8613800000023"))


def test_a_call_without_push_urls_frees_its_port_when_it_ends(client, world):
    use_scenario(client, settings={"voice_ports": 1})
    assert call_verify(client, verify_body("+8613800000021")).status_code == 200
    assert call_verify(client, verify_body("+8613800000022")).json()["resultcode"] == "1020154"
    advance(client, 60)
    assert call_verify(client, verify_body("+8613800000023")).status_code == 200
