"""Schemas of the API's own envelopes: errors, list metadata, ping and tokens."""

from pydantic import BaseModel, ConfigDict, Field

from portal.error_codes import ErrorCode


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: ErrorCode = Field(description="What went wrong, for programs: see doc_url.")
    message: str = Field(description="What went wrong, for people.")
    request_id: str | None = Field(description="Quote it to support.")
    doc_url: str = Field(description="This code's entry in the error reference.")
    details: list[ErrorDetail] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class ListMeta(BaseModel):
    limit: int
    has_more: bool
    next_cursor: str | None


class Ping(BaseModel):
    firm: str
    key_name: str
    request_id: str


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # No NUL character (any string in a body with one is refused: 422).
    api_key: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00]*$")
    api_secret: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00]*$")


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = Field(examples=["Bearer"])
    expires_in: int = Field(examples=[3600])
