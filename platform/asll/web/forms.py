"""Flask-WTF forms (CSRF on every form) with French messages."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, SubmitField
from wtforms.validators import DataRequired, Email, Length


class LoginForm(FlaskForm):
    email = EmailField(
        "Adresse électronique",
        validators=[DataRequired("Saisissez votre adresse électronique."), Email("Adresse électronique invalide.")],
    )
    password = PasswordField("Mot de passe", validators=[DataRequired("Saisissez votre mot de passe.")])
    submit = SubmitField("Se connecter")


class TenantChoiceForm(FlaskForm):
    tenant_id = SelectField("Département", coerce=int, validators=[DataRequired("Choisissez un département.")])
    submit = SubmitField("Continuer")


class PluginToggleForm(FlaskForm):
    tenant_id = HiddenField(validators=[DataRequired()])
    plugin = HiddenField(validators=[DataRequired(), Length(max=64)])
    enabled = BooleanField("Activé")
    submit = SubmitField("Enregistrer")


class EmptyForm(FlaskForm):
    """A form with only its CSRF token (logout, simple actions)."""
