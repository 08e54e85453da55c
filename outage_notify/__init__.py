"""outage-notify: tells residents about planned water and gas shutoffs before the work begins."""

__version__ = "0.1.0"
