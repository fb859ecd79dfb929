"""Outbound webhooks: Standard Webhooks signing, the SSRF guard, the delivery client."""
