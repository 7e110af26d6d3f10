"""The `configWarning`s upstream sends each client right after initialize.

One for a config it could not use (then it runs on defaults), else one listing ignored keys; plus one
per deprecated feature flag that is set (ours only: upstream 0.163 lists deprecated flags silently).
"""

from __future__ import annotations

from server.config import effective_config
from server.config.features import deprecation_warnings
from server.session import Session


def announce(session: Session) -> None:
    config = effective_config(session.server)
    if config.problem is not None:
        session.notify("configWarning", config.problem.warning())
        return
    unknown = config.unknown_key_warning()
    if unknown is not None:
        session.notify("configWarning", unknown)
    for warning in deprecation_warnings(config):
        session.notify("configWarning", warning)
