"""Clients for model APIs (Responses over SSE)."""
