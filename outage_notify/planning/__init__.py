"""Planning: service areas, customers, outages and their lifecycle, the timeline, targeting."""
