"""Real telephony: a SIP service (sippy) with a registrar for agents' phones, media through rtpengine.

See docs/telephony.md. Nothing here is imported unless telephony settings are given, so the server
runs without sippy or rtpengine."""
