"""Issue 15: the admin API refuses hostile or mistaken calls with a clear 4xx and loses nothing."""

import pytest

from hardening import assert_still_serving, state_before


@pytest.mark.parametrize("command", [
    b'{"advance": NaN}', b'{"advance": "nan"}', b'{"advance": Infinity}', b'{"advance": "inf"}',
    b'{"advance": 1e18}', b'{"advance": 1e300}', b'{"advance": true}', b'{"set": "9999-12-31T23:59:59Z"}',
    b'{"set": "0001-01-01T00:00:00Z"}', b'{"mode": "manual", "set": "2030-01-01T00:00:00Z", "advance": 1e12}',
])
def test_a_clock_command_out_of_range_is_refused_and_the_clock_keeps_working(client, command):
    code = state_before(client)
    client.post("/__otpsim/clock", json={"mode": "manual", "set": "2040-01-01T00:00:00Z"})
    refused = client.post("/__otpsim/clock", content=command, headers={"content-type": "application/json"})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]
    clock = client.get("/__otpsim/clock").json()
    assert clock["mode"] == "manual" and clock["now"].startswith("2040-01-01T00:00:00")
    assert client.post("/__otpsim/clock", json={"advance": 60}).json()["now"].startswith("2040-01-01T00:01:00")
    assert_still_serving(client, code)
    assert client.post("/__otpsim/reset").status_code == 200


def test_the_clock_goes_back_to_wall_time(client):
    client.post("/__otpsim/clock", json={"mode": "manual", "set": "2040-01-01T00:00:00Z"})
    back = client.post("/__otpsim/clock", json={"mode": "real", "set": "now"}).json()
    assert back["mode"] == "real" and abs(back["offset_s"]) < 5


def test_deeply_nested_json_to_the_clock_is_a_400(client):
    code = state_before(client)
    refused = client.post("/__otpsim/clock", content=b"[" * 100_000, headers={"content-type": "application/json"})
    assert refused.status_code == 400 and refused.json()["error"].startswith("body must be JSON")
    assert_still_serving(client, code)


def test_unknown_admin_keys_are_refused_by_name(client):
    code = state_before(client)
    refused = client.post("/__otpsim/clock", json={"advanse": 5})
    assert refused.status_code == 400
    assert refused.json()["error"] == "unknown key 'advanse'; known: mode, set, advance"
    refused = client.get("/__otpsim/outbox", params={"too": "1"})
    assert refused.status_code == 400 and "unknown query parameter too" in refused.json()["error"]
    assert_still_serving(client, code)


def test_an_admin_body_over_the_limit_is_a_413(client):
    code = state_before(client)
    refused = client.put("/__otpsim/scenario", content=b"#" * ((1 << 20) + 1))
    assert refused.status_code == 413 and "larger than 1048576 bytes" in refused.json()["error"]
    assert client.get("/__otpsim/scenario").json()["name"] == "default"
    assert_still_serving(client, code)


def test_an_empty_scenario_body_is_refused_not_taken_as_the_default(client):
    code = state_before(client)
    assert client.put("/__otpsim/scenario", content=b"name: mine\n").status_code == 200
    refused = client.put("/__otpsim/scenario", content=b"  \n")
    assert refused.status_code == 400 and refused.json()["error"].startswith("empty body")
    assert client.get("/__otpsim/scenario").json()["name"] == "mine"
    assert_still_serving(client, code)


def test_journal_of_an_unknown_product_is_a_400_naming_the_known_ones(client):
    code = state_before(client)
    refused = client.get("/__otpsim/journal", params={"product": "nope"})
    assert refused.status_code == 400 and refused.json()["error"] == "no product 'nope'"
    assert "osm" in refused.json()["products"]
    assert_still_serving(client, code)


def test_an_unencoded_plus_in_to_finds_the_message(client):
    from hardening import send_code
    assert send_code(client, "+8613800000017").status_code == 200
    raw = client.get("/__otpsim/outbox/latest?to=+8613800000017")   # `+` read as a space by the query parser
    assert raw.status_code == 200 and raw.json()["to"] == "+8613800000017"
    assert client.get("/__otpsim/outbox?to=+8613800000017").json()[0]["to"] == "+8613800000017"
