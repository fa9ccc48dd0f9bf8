"""Flask-WTF forms (CSRF on every form) with French messages.

Forms whose fields come from marshmallow schemas (transitions, plugin fields, decisions,
requests) are rendered by :mod:`asll.web.fields` instead, so each rule is written once,
in the service's schema.
"""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional

from asll.security import MIN_PASSWORD_LENGTH

REQUIRED = "Ce champ est obligatoire."


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


class SessionForm(FlaskForm):
    """A new commission session (the secretariat programs it, then builds its agenda)."""

    commission_code = SelectField("Commission", validators=[InputRequired("Choisissez la commission.")])
    session_date = DateField("Date de la séance", validators=[InputRequired("Indiquez la date de la séance.")],
                             format="%Y-%m-%d")
    location = StringField("Lieu", validators=[Optional(), Length(max=200, message="200 caractères au plus.")])
    submit = SubmitField("Programmer la séance")


class AttendanceForm(FlaskForm):
    members_present = TextAreaField(
        "Membres présents", validators=[Optional(), Length(max=5000, message="5000 caractères au plus.")],
        description="Un nom par ligne, avec l'institution représentée ; repris dans le procès-verbal.")
    submit = SubmitField("Enregistrer les présences")


class MemberForm(FlaskForm):
    """A new user of the tenant with one role (département admin)."""

    full_name = StringField("Nom et prénom", validators=[DataRequired(REQUIRED), Length(max=160)])
    email = EmailField("Adresse électronique", validators=[DataRequired(REQUIRED),
                                                           Email("Adresse électronique invalide.")],
                       description="La personne y reçoit un lien pour choisir elle-même son mot de passe.")
    role = SelectField("Rôle", validators=[InputRequired("Choisissez un rôle.")])
    organisation_id = SelectField("Organisme de rattachement", validators=[Optional()],
                                  description="Obligatoire pour un prescripteur ou un travailleur social d'opérateur.")
    submit = SubmitField("Envoyer l'invitation")


class TenantForm(FlaskForm):
    """A new département and its first administrator (platform admin)."""

    code = StringField("Code INSEE du département", validators=[DataRequired(REQUIRED), Length(max=3)],
                       description="2 ou 3 chiffres, ou 2A / 2B.")
    name = StringField("Nom du département", validators=[DataRequired(REQUIRED), Length(max=120)])
    admin_name = StringField("Nom de l'administrateur départemental", validators=[DataRequired(REQUIRED),
                                                                                  Length(max=160)])
    admin_email = EmailField("Adresse électronique de l'administrateur",
                             validators=[DataRequired(REQUIRED), Email("Adresse électronique invalide.")])
    submit = SubmitField("Créer le département")


PASSWORD_HINT = (f"Au moins {MIN_PASSWORD_LENGTH} caractères, difficile à deviner : par exemple plusieurs mots sans "
                 "lien entre eux, avec des chiffres ou des signes. Ni votre nom ni votre adresse électronique.")


class NewPasswordForm(FlaskForm):
    """A password chosen through an invitation or reset link (the policy is the service's)."""

    password = PasswordField("Nouveau mot de passe", validators=[DataRequired("Saisissez un mot de passe.")],
                             description=PASSWORD_HINT)
    confirmation = PasswordField("Confirmez le mot de passe",
                                 validators=[DataRequired("Saisissez à nouveau le mot de passe.")])
    submit = SubmitField("Enregistrer le mot de passe")


class PasswordChangeForm(NewPasswordForm):
    current = PasswordField("Mot de passe actuel", validators=[DataRequired("Saisissez votre mot de passe actuel.")])
    submit = SubmitField("Changer le mot de passe")


class ForgottenPasswordForm(FlaskForm):
    email = EmailField(
        "Adresse électronique",
        validators=[DataRequired("Saisissez votre adresse électronique."), Email("Adresse électronique invalide.")],
    )
    submit = SubmitField("Recevoir un lien")


class CodeForm(FlaskForm):
    """A code of the authenticator app (second factor)."""

    code = StringField("Code à 6 chiffres", validators=[DataRequired("Saisissez le code affiché par votre application."),
                                                         Length(max=12)],
                       description="Affiché par votre application d'authentification (il change toutes les 30 secondes).")
    submit = SubmitField("Valider")
