"""The one error the CRM's domain rules raise: what is wrong, field by field."""

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from portal.crm.schemas import validation_details
from portal.extensions import db


class CrmValidationError(ValueError):
    """Input the CRM refuses; details are [{"field": ..., "message": ...}], nothing is written."""

    def __init__(self, details: list[dict]):
        self.details = list(details)
        super().__init__("; ".join(f"{d['field']}: {d['message']}" for d in self.details))

    @classmethod
    def from_pydantic(cls, error: ValidationError) -> "CrmValidationError":
        return cls(validation_details(error))

    @classmethod
    def single(cls, field: str, message: str) -> "CrmValidationError":
        return cls([detail(field, message)])

    def messages(self) -> dict[str, str]:
        """The first message per field, for showing errors next to form inputs."""
        result: dict[str, str] = {}
        for item in self.details:
            result.setdefault(item["field"], item["message"])
        return result


def detail(field: str, message: str) -> dict:
    return {"field": field, "message": message}


def flush_or_refuse(field: str, message: str) -> None:
    """Flush; a unique constraint refusing a row (a concurrent duplicate) is a validation error."""
    try:
        db.session.flush()
    except IntegrityError as error:
        # A failed flush leaves the transaction unusable, so it is rolled back before reporting.
        # (No SAVEPOINT: pysqlite would commit the outer transaction when releasing one.)
        db.session.rollback()
        raise CrmValidationError.single(field, message) from error
