"""Delivery channels: a leaf package that never imports ``outage_notify``.

Push channels (SMS, email) implement :class:`channels.base.PushChannel`; the feed and
banner modules turn plain outage data into documents. Everything a channel needs arrives as
constructor arguments or as a :class:`channels.base.Message`, so a channel can be tested and
reused without the core.
"""
