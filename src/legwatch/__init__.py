"""legwatch: objective overnight measurement of leg movements from an ankle-worn accelerometer.

Data flows one way: packets -> Recording -> events -> indices -> comparisons.
"""

from importlib.metadata import PackageNotFoundError, version

from legwatch.errors import LegwatchError
from legwatch.events import EventTable
from legwatch.recording import BodySite, Gap, Recording

try:
    __version__ = version("legwatch")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["BodySite", "EventTable", "Gap", "LegwatchError", "Recording", "__version__"]
