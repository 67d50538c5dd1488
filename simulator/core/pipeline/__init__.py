"""The request pipeline: routing, scenario rules, auth, validation, envelopes, faults."""
