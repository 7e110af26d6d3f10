"""Wire models of the account namespace (upstream schema: GetAccount*, LoginAccount*, CancelLoginAccount*).

`LoginAccountParams` is a union tagged by `type` with every variant upstream accepts, so an unknown type gets
upstream's "unknown variant" message listing the same six names; the handler then says which ones this
server implements.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, RootModel

from server.protocol.base import WireModel


class GetAccountParams(WireModel):
    refresh_token: bool | None = None


class GetAuthStatusParams(WireModel):
    """Legacy (v1) `getAuthStatus`; not in the v2 schema but still served by upstream."""

    include_token: bool | None = None
    refresh_token: bool | None = None


class ApiKeyLogin(WireModel):
    type: Literal["apiKey"]
    api_key: str


class ChatgptLogin(WireModel):
    type: Literal["chatgpt"]
    app_brand: Literal["codex", "chatgpt"] | None = None
    codex_streamlined_login: bool | None = None
    use_hosted_login_success_page: bool | None = None


class ChatgptDeviceCodeLogin(WireModel):
    type: Literal["chatgptDeviceCode"]


class ChatgptAuthTokensLogin(WireModel):
    type: Literal["chatgptAuthTokens"]
    access_token: str
    chatgpt_account_id: str
    chatgpt_plan_type: str | None = None


class AmazonBedrockLogin(WireModel):
    type: Literal["amazonBedrock"]
    api_key: str
    region: str


class AmazonBedrockAccessKeysLogin(WireModel):
    type: Literal["amazonBedrockAccessKeys"]
    access_key_id: str
    secret_access_key: str
    region: str
    session_token: str | None = None


LoginVariant = Annotated[
    ApiKeyLogin
    | ChatgptLogin
    | ChatgptDeviceCodeLogin
    | ChatgptAuthTokensLogin
    | AmazonBedrockLogin
    | AmazonBedrockAccessKeysLogin,
    Field(discriminator="type"),
]


class LoginAccountParams(RootModel[LoginVariant]):
    pass


class CancelLoginAccountParams(WireModel):
    login_id: str


class CancelLoginAccountResponse(WireModel):
    status: Literal["canceled", "notFound"]


class ApiKeyLoginResponse(WireModel):
    type: Literal["apiKey"] = "apiKey"


class ChatgptLoginResponse(WireModel):
    type: Literal["chatgpt"] = "chatgpt"
    login_id: str
    auth_url: str


class ChatgptDeviceCodeLoginResponse(WireModel):
    type: Literal["chatgptDeviceCode"] = "chatgptDeviceCode"
    login_id: str
    verification_url: str
    user_code: str


class ApiKeyAccount(WireModel):
    type: Literal["apiKey"] = "apiKey"


class ChatgptAccount(WireModel):
    type: Literal["chatgpt"] = "chatgpt"
    email: str | None
    plan_type: str


class GetAccountResponse(WireModel):
    account: ApiKeyAccount | ChatgptAccount | None
    requires_openai_auth: bool
    workspace_routing: None = None
    """Upstream fills this from a ChatGPT backend discovery call this server does not make."""


class GetAuthStatusResponse(WireModel):
    auth_method: Literal["apikey", "chatgpt"] | None
    auth_token: str | None
    requires_openai_auth: bool
