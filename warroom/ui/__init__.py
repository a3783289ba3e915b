"""The Textual console. Only this package imports Textual."""

import os

# Textual draws at most TEXTUAL_FPS frames a second (default 60), and its frame timer puts
# the next frame one to two intervals after the last one: a line entered just after a
# keystroke's frame waited up to 33 ms to be drawn. At 120 that wait is halved; a frame is
# still drawn only when something changed. A TEXTUAL_FPS set by the user is kept. Set before
# Textual is imported: it reads the variable once.
os.environ.setdefault("TEXTUAL_FPS", "120")
