"""The war room's use-cases, once, for the CLI and the TUI alike (no Textual, no argparse).

* ``Desk`` — declare, log, tick, set severity and status, assign, drafts and sending,
  components, action items, milestones, postmortem, export (``desk.py``);
* ``Library`` — the runbooks, comms templates and incident types they use (``library.py``);
* incident types from TOML (``incident_types.py``) and the demo's copy of the samples
  (``demo.py``).
"""

from warroom.desk.desk import Desk, StepRef
from warroom.desk.library import Library, LibraryProblem

__all__ = ["Desk", "Library", "LibraryProblem", "StepRef"]
