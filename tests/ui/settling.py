"""Waiting until the app under test has finished what a key (or a load) set off.

Pilot's own waits are not enough on a loaded machine. ``pilot.press`` returns once the process
looks idle by its CPU time, and a process the kernel has descheduled uses no CPU, so it looks
idle with work still queued. ``pilot.pause`` lets the app and the widgets of the screen on top
handle what each had queued once; but one key can set off a chain: a message bubbling from a
list to its container, the screen, then the app (one turn per hop), a dialog's result callback
(another turn), a worker that journals and calls back into the UI thread, a screen composing
its widgets. So ``settle`` repeats until nothing is left: no worker running, and every node on
every screen has handled everything it was given.
"""

from __future__ import annotations

import asyncio

# Passes, each waiting on the app (not on time); a chain of hops ends long before this.
_MOST_PASSES = 200
# A layout or repaint the last message asked for is not a message itself: never fewer passes
# than this, so what the screen shows has caught up with the state too.
_FEWEST_PASSES = 3


async def settle(pilot) -> None:
    """Return once no worker runs and no message or callback waits anywhere in the app."""
    app = pilot.app
    busy = ""
    for passes in range(1, _MOST_PASSES + 1):
        await app.workers.wait_for_complete()
        await pilot.pause()
        await _every_node_caught_up(app)
        busy = _busy(app)
        if passes >= _FEWEST_PASSES and not busy:
            return
    if "queued" in busy:
        # Timers (the header's clock, a cursor's blink) post work for ever; after this many
        # passes a chain set off by the test has long ended, and the assertions that follow
        # check what it did.
        return
    raise AssertionError(f"the app never settled: {busy}")


async def _every_node_caught_up(app) -> None:
    """Each node (on every screen, not just the top one) handles what it had queued so far."""
    loop = asyncio.get_running_loop()
    waits = []
    for node in [app, *app._registry]:
        reached = loop.create_future()
        if node.call_later(lambda reached=reached: reached.done() or reached.set_result(None)):
            waits.append(reached)
    if waits:
        await asyncio.wait(waits, timeout=30)


def _busy(app) -> str:
    """What still has work queued (empty: nothing)."""
    running = [worker.name for worker in app.workers if not worker.is_finished]
    if running:
        return f"workers still running: {running}"
    if app.message_queue_size or app._next_callbacks:
        return "the app has messages or callbacks queued"
    for node in app._registry:
        if node.message_queue_size or node._next_callbacks or node._pending_message is not None:
            return f"{node!r} has messages or callbacks queued"
        # Still composing or mounting its children; a node taken out of the DOM before its
        # mount finished never will, and waits for nothing.
        if node.is_running and not node.is_mounted and node.is_attached:
            return f"{node!r} is still mounting"
    return ""
