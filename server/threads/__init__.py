"""Threads and turns: the domain behind thread/* and turn/* (entry point: server.threads.service)."""
