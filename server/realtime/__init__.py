"""Realtime conversations: a thread talks to a Realtime-compatible websocket API, and hands work to turns."""
