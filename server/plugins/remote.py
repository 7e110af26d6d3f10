"""The ChatGPT backend's plugin service (`{chatgpt_base_url}/ps/plugins/...`), as upstream 0.163 calls it.

Only a ChatGPT login may use it: the stored auth must be in `chatgpt` mode, and its access token and
account id go along as `Authorization: Bearer` and `chatgpt-account-id`. Every failure is a
`CatalogError` worded as upstream words it (the URL, the status line, the body, or serde's parse error),
so a caller only adds its context prefix. Credentials never appear in a message.

Responses are decoded leniently: pages are `{"plugins": [...], "pagination": {...}}`; a page that is not
an object with a `plugins` list is a parse error, and an item without a string `id` and `name` is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from server.plugins.login import Credentials
from server.plugins.marketplace import json_reason

TIMEOUT_SECONDS = 30
PAGE_LIMIT = 200
MAX_PAGES = 50
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
"""A catalog page bigger than this is refused rather than held in memory."""

REMOTE_MARKETPLACE = "openai-curated-remote"
REMOTE_MARKETPLACE_DISPLAY_NAME = "OpenAI Curated Remote"
AUTH_REQUIRED = "chatgpt authentication required for remote plugin catalog"
INVALID_ID = "invalid remote plugin id: only ASCII letters, digits, `_`, `-`, and `~` are allowed"


class CatalogError(Exception):
    """A remote catalog call that failed; `str()` is upstream's wording without the caller's context."""


class AuthRequired(CatalogError):
    def __init__(self) -> None:
        super().__init__(AUTH_REQUIRED)


def is_valid_remote_id(plugin_id: str) -> bool:
    return bool(plugin_id) and all(char.isascii() and (char.isalnum() or char in "-_~") for char in plugin_id)


@dataclass(frozen=True)
class RemoteCatalog:
    base_url: str
    login: Credentials | None

    def url(self, path: str, query: Mapping[str, str] | None = None) -> str:
        url = f"{self.base_url.rstrip('/')}/ps/plugins/{path}"
        return f"{url}?{urlencode(query, safe='~')}" if query else url

    def call(self, method: str, url: str) -> Any:
        """One request; the decoded JSON body of a 2xx answer, or a CatalogError."""
        import requests  # only here: loading it costs every server ~0.2 s and most never use plugins

        if self.login is None:
            raise AuthRequired
        try:
            with requests.request(
                method, url, headers=self.login.headers(), timeout=TIMEOUT_SECONDS, stream=True
            ) as response:
                body = bounded_body(response)
        except requests.RequestException:
            raise CatalogError(
                f"failed to send remote plugin catalog request to {url}: error sending request for url ({url})"
            ) from None
        text = body.decode("utf-8", errors="replace")
        if not 200 <= response.status_code < 300:
            raise CatalogError(
                f"remote plugin catalog request to {url} failed with status "
                f"{response.status_code} {response.reason}: {text}"
            )
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise CatalogError(
                f"failed to parse remote plugin catalog response from {url}: {json_reason(exc)}"
            ) from None

    def page(self, url: str) -> list[dict[str, Any]]:
        """Every item of a paged listing, following `pagination.next_page_token` as `pageToken`."""
        items: list[dict[str, Any]] = []
        next_url = url
        for _ in range(MAX_PAGES):
            data = self.call("GET", next_url)
            plugins = data.get("plugins") if isinstance(data, dict) else None
            if not isinstance(plugins, list):
                raise CatalogError(
                    f"failed to parse remote plugin catalog response from {next_url}: missing field `plugins`"
                )
            items += [item for item in plugins if is_item(item)]
            pagination = data.get("pagination")
            token = pagination.get("next_page_token") if isinstance(pagination, dict) else None
            if not isinstance(token, str) or not token:
                return items
            next_url = f"{url}&{urlencode({'pageToken': token})}"
        raise CatalogError(f"remote plugin catalog listing at {url} has more than {MAX_PAGES} pages")

    def installed(self, *, download_urls: bool = False) -> list[dict[str, Any]]:
        query = {"limit": str(PAGE_LIMIT)}
        if download_urls:
            query["includeDownloadUrls"] = "true"
        return self.page(self.url("installed", query))

    def installed_global(self) -> list[dict[str, Any]]:
        return self.page(self.url("installed", {"scope": "GLOBAL"}))

    def directory(self) -> list[dict[str, Any]]:
        return self.page(self.url("list", {"scope": "GLOBAL", "limit": str(PAGE_LIMIT)}))

    def detail(self, plugin_id: str, *, download_urls: bool = False) -> dict[str, Any]:
        url = self.url(plugin_id, {"includeDownloadUrls": "true"} if download_urls else None)
        item = self.call("GET", url)
        if not is_item(item):
            raise CatalogError(f"failed to parse remote plugin catalog response from {url}: missing field `id`")
        return dict(item)

    def change(self, plugin_id: str, action: str) -> None:
        """POST install/uninstall; the backend must answer with the plugin's id and its new enabled state."""
        query = {"includeAppsNeedingAuth": "true"} if action == "install" else None
        url = self.url(f"{plugin_id}/{action}", query)
        answer = self.call("POST", url)
        if not isinstance(answer, dict) or answer.get("id") != plugin_id:
            actual = answer.get("id") if isinstance(answer, dict) else None
            raise CatalogError(
                f"remote plugin mutation returned unexpected plugin id: expected `{plugin_id}`, got `{actual}`"
            )
        expected = action == "install"
        if answer.get("enabled") is not expected:
            raise CatalogError(
                f"remote plugin mutation returned unexpected enabled state for `{plugin_id}`: "
                f"expected {str(expected).lower()}, got {json.dumps(answer.get('enabled'))}"
            )


def read_at_most(response: Any, limit: int) -> bytes | None:
    """A streamed `requests` body, or None as soon as it grows past `limit` bytes: never held whole first."""
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def bounded_body(response: Any) -> bytes:
    body = read_at_most(response, MAX_RESPONSE_BYTES)
    if body is None:
        raise CatalogError(f"remote plugin catalog response from {response.url} exceeds {MAX_RESPONSE_BYTES} bytes")
    return body


def is_item(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("id"), str) and isinstance(value.get("name"), str)


def release(item: Mapping[str, Any]) -> dict[str, Any]:
    value = item.get("release")
    return value if isinstance(value, dict) else {}
