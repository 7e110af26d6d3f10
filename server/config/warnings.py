"""The `configWarning`s upstream sends each client right after initialize.

One for a config it could not use (then it runs on defaults), else one listing ignored keys. Ours adds
one per deprecated feature flag that is set and one for a base URL taken from the deprecated
`OPENAI_BASE_URL` variable: upstream 0.163 accepts both silently, and users never learn to move off them.
"""

from __future__ import annotations

import sys

from server.config import effective_config
from server.config.base_urls import openai_base_url
from server.config.features import deprecation_warnings
from server.context import Peer


def announce(session: Peer) -> None:
    config = effective_config(session.server)
    if config.problem is not None:
        session.notify("configWarning", config.problem.warning())
        return
    unknown = config.unknown_key_warning()
    if unknown is not None:
        session.notify("configWarning", unknown)
    for warning in deprecation_warnings(config):
        session.notify("configWarning", warning)
    legacy = openai_base_url(config, session.server.environ).warning
    if legacy is not None:
        session.notify("configWarning", legacy)
        print(f"app-server: warning: {legacy['summary']}", file=sys.stderr, flush=True)
