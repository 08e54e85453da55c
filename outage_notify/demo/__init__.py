"""The demo: the main job end to end on the bundled city, with no credentials and no services.

A fresh SQLite database, the file backends for SMS, email and voice, the demo city imported
(``city``), the demo outages planned relative to now, then the real engine driven by an
injected clock through every due time, with the planners' changes and the residents' replies
at scripted moments along the way (``story``): a reschedule, an extension, a cancellation, a
restoration, and critical-needs customers who acknowledge, are called or are put on the
crews' door-knock list. ``run`` ties it together.
"""

from outage_notify.demo.city import DEMO_DATA, demo_settings, missing_files
from outage_notify.demo.run import DemoResult, run_demo, served_clock

__all__ = ["DEMO_DATA", "DemoResult", "demo_settings", "missing_files", "run_demo", "served_clock"]
