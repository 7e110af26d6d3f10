"""Where the server talks to OpenAI and ChatGPT: `openai_base_url` and `chatgpt_base_url`.

`openai_base_url` is a config key so it takes part in layering (and shows in config/read). The old
`OPENAI_BASE_URL` environment variable still works when no layer sets the key, but users kept having
it set by mistake, so using it earns a deprecation warning naming the replacement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.config import Config

OPENAI_DEFAULT = "https://api.openai.com/v1"
CHATGPT_DEFAULT = "https://chatgpt.com/backend-api/"
LEGACY_ENV = "OPENAI_BASE_URL"


@dataclass(frozen=True)
class BaseUrl:
    url: str
    warning: dict[str, Any] | None = None
    """A `configWarning` payload when the URL came from the deprecated environment variable."""


def openai_base_url(config: Config, environ: Mapping[str, str]) -> BaseUrl:
    configured = config.get("openai_base_url")
    if isinstance(configured, str) and configured:
        return BaseUrl(configured)
    legacy = environ.get(LEGACY_ENV)
    if legacy:
        return BaseUrl(
            legacy,
            {
                "summary": f"`{LEGACY_ENV}` is deprecated; set `openai_base_url` in config.toml instead.",
                "details": f"Using {LEGACY_ENV}={legacy} because no config layer sets `openai_base_url`.",
            },
        )
    return BaseUrl(OPENAI_DEFAULT)


def chatgpt_base_url(config: Config) -> str:
    configured = config.get("chatgpt_base_url")
    return configured if isinstance(configured, str) and configured else CHATGPT_DEFAULT
