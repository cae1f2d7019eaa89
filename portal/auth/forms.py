"""Login, re-authentication and password forms."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired(), Length(max=200)]
    )
    new_password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(min=8, max=200,
                                           message="Use 8 to 200 characters.")],
    )
    confirm_password = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new_password", message="The passwords differ.")],
    )
