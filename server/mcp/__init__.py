"""MCP servers declared in config.toml (`[mcp_servers.<name>]`): what they are and what they offer.

`servers` reads the declarations, `client` speaks the Model Context Protocol to one server long enough to
learn its inventory, `status` shapes the result as upstream's `McpServerStatus` for `mcpServerStatus/list`.
"""
