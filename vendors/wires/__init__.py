"""Pure wire codecs: OpenAI Chat, Anthropic Messages, SSE framing, accumulation, reasoning, usage, error envelopes.

No module here names a vendor: what differs per vendor arrives as a VendorSpec (its Quirks, Caps and hooks).
"""
