"""Facts shared by the server and the release tooling; the lowest layer, importing nothing of ours.

`harness` is its own distribution and imports nothing from here.
"""
