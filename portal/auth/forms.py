"""Login and re-authentication forms."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
