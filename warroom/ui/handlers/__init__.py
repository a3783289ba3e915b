"""What each pane's intents do: the app's handlers, one module per part of the console.

Each class is mixed into ``WarRoomApp``: it turns a widget's message or a key's action into
a dialog (when something must be asked) and a desk call through ``app.apply``, then tells
the person what happened. No rule lives here: the desk decides, the widgets render.
"""

from warroom.ui.handlers.checklist import ChecklistHandlers
from warroom.ui.handlers.comms import CommsHandlers
from warroom.ui.handlers.delivery import DeliveryHandlers
from warroom.ui.handlers.followup import FollowUpHandlers
from warroom.ui.handlers.guards import GuardHandlers
from warroom.ui.handlers.incident import IncidentHandlers
from warroom.ui.handlers.situation import SituationHandlers
from warroom.ui.handlers.layout import LayoutHandlers
from warroom.ui.handlers.loading import LoadingHandlers
from warroom.ui.handlers.sync import SyncHandlers
from warroom.ui.handlers.timeline import TimelineHandlers

__all__ = [
    "ChecklistHandlers",
    "CommsHandlers",
    "DeliveryHandlers",
    "FollowUpHandlers",
    "GuardHandlers",
    "IncidentHandlers",
    "LayoutHandlers",
    "LoadingHandlers",
    "SituationHandlers",
    "SyncHandlers",
    "TimelineHandlers",
]
