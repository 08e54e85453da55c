"""The residents' side: subscriptions, inbound replies, opt-outs and unsubscribe links."""
