"""Offline-first sync with the shared server (httpx; knows nothing of Textual).

* ``warroom.sync.client.SyncClient`` — the HTTP API, with typed errors;
* ``warroom.sync.engine.SyncEngine`` — push the outbox, follow the feed, report ``SyncStatus``;
* ``warroom.wire`` (outside this package) — the JSON models shared with the server.

The commands ``warroom login`` and ``warroom sync`` live in ``warroom.cli.sync``.
"""
