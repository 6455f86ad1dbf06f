"""Service contract tests: the core driven through a fake front end, no chat platform at all.

`fake_channel.FakeChannel` is what any front end does around the core: it maps its own sender
ids to people through bot.services.identities, asks bot.domain.access whether the sender may
act, calls a use case in bot.services, and turns a refusal or a service error into a reply
(a catalog key and its values, kept as plain data in `channel.sent`). The test modules here
call bot.services only; import-linter (pyproject.toml) and test_no_front_end.py keep telegram,
handlers and sandbox out of this package.

To hold another front end (WeCom, say) to the same contract, give it the same small surface
as FakeChannel — `hire` / `enroll` (a sender id per person), `person_id`, `act`, `sent` /
`replies_to` — backed by that adapter's own identity channel and reply rendering, and return
it as `Station.channel` from the `station` fixture in conftest.py (or parametrize that fixture
over both front ends); every test in this package then runs against it unchanged.
"""
