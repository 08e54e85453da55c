"""The one ASGI app: public pages, feeds, banner, subscription, Twilio webhooks, REST API."""
