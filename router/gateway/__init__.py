"""The Farebox gateway: an OpenAI- and Anthropic-compatible HTTP server over a Router (`farebox serve`).

    app.py          the aiohttp application, /v1/chat/completions, /v1/models, /healthz
    messages.py     /v1/messages (Anthropic Messages); anthropic_codec.py its pure request/response codec
    openai_codec.py the OpenAI wire: request checks, Response/Chunk encoding with usage.cost
    relay.py        SSE to the client: backpressure, keep-alives, cancel on disconnect
    guard.py        master key, virtual keys, model lists, rpm and budgets; keys.py the key table
    shared.py       the same across processes: keys in a PostgreSQL ledger, rpm windows on Redis
    admin.py        /admin/keys and /metrics; spend_api.py /spend and /dashboard (static/ holds its page)
    server.py       running it: config, demo, a thread for tests, N workers; settings.py the `gateway:` section
"""
