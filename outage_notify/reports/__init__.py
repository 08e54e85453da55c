"""Reports: per-outage delivery reports, coverage and door hangers, the annual disclosure."""
