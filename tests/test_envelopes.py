"""Cross-product envelope rules: forced errors fill their placeholders, request ids, secrets masked."""

from meeting_helpers import account_login, token

CAMS_ACTION = {"x-acs-action": "GetMigrationVerifyCode"}


def test_a_forced_error_fills_its_message_placeholders_from_the_catalogue(client):
    forced = client.post("/", headers={**CAMS_ACTION, "x-otpsim-error": "MissingParameter"})
    assert forced.status_code == 400
    body = forced.json()
    assert body["Code"] == "MissingParameter"
    assert body["Message"] == ('The input parameter "PhoneNumber" that is mandatory for processing '
                               'this request is not supplied.')
    assert "{" not in body["Message"]


def test_a_forced_code_outside_the_catalogue_is_a_clear_otpsim_answer(client):
    forced = client.post("/", headers={**CAMS_ACTION, "x-otpsim-error": "NoSuchCode"})
    assert forced.status_code == 400
    assert "not in the cams catalogue" in forced.json()["otpsim"]


def test_meeting_keeps_the_clients_request_id_and_makes_one_otherwise(client):
    headers = token(client)
    own = client.post("/v1/usg/dcs/member/verification-code", json={"contact": "+8613800000000"},
                      headers={**headers, "X-Request-Id": "0000000000000000000000000000beef"})
    assert own.headers["x-request-id"] == "0000000000000000000000000000beef"   # only ids of the spec's shape
    made = client.post("/v1/usg/dcs/member/verification-code", json={"contact": "+8613800000001"}, headers=headers)
    assert len(made.headers["x-request-id"]) == 32


def test_tokens_in_answers_are_masked_in_the_journal(client):
    issued = account_login(client).json()["accessToken"]
    journal = client.get("/__otpsim/journal", params={"product": "meeting"}).text
    assert issued not in journal
