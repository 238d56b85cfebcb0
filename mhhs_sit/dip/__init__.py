"""The DIP as both sides speak it: message envelopes, request signing, the client and the webhook receiver."""
