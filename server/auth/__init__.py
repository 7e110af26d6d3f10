"""Accounts: credential storage (auth.json), ChatGPT login flows and token refresh.

Layout: `storage` owns the file, `claims` reads JWTs, `endpoints` resolves where the issuer and backends live,
`issuer` speaks HTTP to the issuer, `manager` holds the per-process auth snapshot (and its refresh poison),
`browser` and `device` are the two ChatGPT login flows, and `logins` tracks a connection's pending login.
Handlers (server.handlers.account) only translate between these and the wire.
"""
