"""Validation errors a person can read: plain words instead of regexes and type names."""

from typing import Any

from pydantic import GetCoreSchemaHandler, ValidationError
from pydantic_core import CoreSchema, PydanticCustomError, core_schema


class Reworded:
    """Field metadata that rewords pydantic's errors of the given types.

    Place it after the constraints it explains: they, the error type and the JSON
    schema stay as declared; only the message changes. A message may name the
    error's context, as in ``"Password should have at least {min_length} characters"``.
    """

    __slots__ = ("_messages",)

    def __init__(self, **messages: str) -> None:
        self._messages = messages

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_wrap_validator_function(self._validate, handler(source))

    def _validate(self, value: Any, validate: core_schema.ValidatorFunctionWrapHandler) -> Any:
        try:
            return validate(value)
        except ValidationError as error:
            problems = error.errors()
            kind = problems[0]["type"]
            if len(problems) == 1 and kind in self._messages:
                context = problems[0].get("ctx")
                raise PydanticCustomError(kind, self._messages[kind], context) from None
            raise
