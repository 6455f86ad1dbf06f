"""The domain: pure rules and records, no storage, no chat front end."""
