"""Offline-first sync with the shared server (httpx; knows nothing of Textual).

* ``warroom.sync.client.SyncClient`` — the HTTP API, with typed errors;
* ``warroom.sync.engine.SyncEngine`` — push the outbox, follow the feed, report ``SyncStatus``;
* ``warroom.sync.cli`` — ``warroom login``, ``warroom sync`` and ``try_push`` for CLI commands;
* ``warroom.sync.wire`` — the JSON models shared with the server.
"""
