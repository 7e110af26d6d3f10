"""Models a client can pick: the catalog `model/list` reports (server.models.catalog)."""
