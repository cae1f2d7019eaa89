"""What each write on the Public API page accepts, declared once (WTForms, as in microblog)."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import AnyOf, ValidationError

from portal.public_api import controls

SCOPES = [("read_write", "Read & write"), ("read", "Read only (GET)")]


def _clip(limit: int):
    """Echo at most `limit` characters of what was typed back into the form."""
    return lambda value: value[:limit] if isinstance(value, str) else value


def _checked_by(clean):
    """Run the key controls' own check; its cleaned value is kept on the field as `cleaned`."""
    def validate(form, field):
        try:
            field.cleaned = clean(field.data)
        except controls.ControlError as error:
            raise ValidationError(str(error)) from None
    return validate


def _scope_field():
    return StringField("Scope", filters=[_clip(20)], validators=[_checked_by(controls.clean_scope)])


def _expiry_field():
    return StringField("Expires after (optional)", filters=[_clip(20)],
                       validators=[_checked_by(controls.clean_expiry)])


class GenerateKeyForm(FlaskForm):
    """The name (checked by the service, which knows the firm's other names), scope, expiry."""

    scopes = SCOPES
    name = StringField("Key name", filters=[_clip(200)], default="")
    scope = _scope_field()
    expires_on = _expiry_field()


class DraftForm(FlaskForm):
    """Save or Cancel of a generated pair: only its id comes from the browser."""

    draft_id = HiddenField(default="")


class KeyControlsForm(FlaskForm):
    """A saved key's settings; every field is checked and each error shown next to it."""

    scopes = SCOPES
    scope = _scope_field()
    expires_on = _expiry_field()
    ip_allowlist = TextAreaField("IP allow-list", filters=[_clip(4000)],
                                 validators=[_checked_by(controls.clean_allowlist)])

    @classmethod
    def of(cls, key) -> "KeyControlsForm":
        """The form filled with the key's current settings."""
        return cls(formdata=None, scope=key.scope,
                   expires_on=key.expires_on.isoformat() if key.expires_on else "",
                   ip_allowlist="\n".join(key.allowlist_entries))


class RollForm(FlaskForm):
    """How long the old pair keeps working after a roll."""

    choices = [(value, label) for value, (label, _) in controls.GRACE_PERIODS.items()]
    grace = StringField("The old key keeps working for", filters=[_clip(20)], validators=[
        AnyOf(controls.GRACE_PERIODS, message="Choose how long the old key keeps working.")])

    @property
    def grace_period(self):
        return controls.GRACE_PERIODS[self.grace.data][1]
