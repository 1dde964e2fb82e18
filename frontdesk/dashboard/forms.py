"""Reading the dashboard's flat HTML forms into the API's models, and putting each error back
next to the input it belongs to."""

from collections.abc import Callable
from datetime import date, datetime, tzinfo
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

Model = TypeVar("Model", bound=BaseModel)


class FormErrors(Exception):
    """Messages by form field (the field `form` is a message for the whole form)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class FormReader:
    """One submitted form: its values read by kind, with every input's error kept (not just the first)."""

    def __init__(self, form: FormData) -> None:
        self.form = form
        self.errors: dict[str, str] = {}

    def text(self, name: str) -> str:
        """A text input's value, trimmed; empty when absent."""
        value = self.form.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    def whole_number(self, name: str) -> int:
        """A number input's whole value (0, with an error kept, when it is not one)."""
        try:
            return int(self.text(name))
        except ValueError:
            self.errors.setdefault(name, "give a whole number")
            return 0

    def day(self, name: str) -> date:
        """A date input's day (today, with an error kept, when it is not one)."""
        try:
            return date.fromisoformat(self.text(name))
        except ValueError:
            self.errors.setdefault(name, "give a date")
            return date.today()

    def moment(self, name: str, tz: tzinfo) -> datetime | None:
        """A datetime-local input as an aware moment in `tz`; None when empty (an error kept when
        it is not a date and time)."""
        value = self.text(name)
        if not value:
            return None
        try:
            return datetime.fromisoformat(value).replace(tzinfo=tz)
        except ValueError:
            self.errors.setdefault(name, "give a date and a time")
            return None

    def checked(self, name: str) -> bool:
        """Whether a checkbox was ticked."""
        return self.form.get(name) == "on"

    def fail(self, name: str, message: str) -> None:
        """Keep an error of `name` found while reading it."""
        self.errors.setdefault(name, message)

    def model(self, model: type[Model], data: dict[str, Any], field_of: Callable[[list[str]], str]) -> Model:
        """`data` as `model`; FormErrors with every error of the reading and of the model, each
        under the input `field_of` names for its location."""
        try:
            result = model.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                field = field_of([str(part) for part in error["loc"]]) or "form"
                self.errors.setdefault(field, str(error["msg"]).removeprefix("Value error, "))
            raise FormErrors(self.errors) from None
        if self.errors:
            raise FormErrors(self.errors)
        return result


def submitted(form: FormData) -> dict[str, str]:
    """The form's text values, to fill it again when it comes back with errors."""
    return {key: value for key, value in form.items() if isinstance(value, str)}
