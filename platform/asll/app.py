"""The application factory: extensions, then core blueprints, then plugins and their blueprints."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask import Flask, g, render_template, request
from flask_babel import format_date, format_datetime
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.routing import IntegerConverter

from asll import logging_setup
from asll.storage import init_storage
from asll.config import check_production, load_config, settings_command
from asll.extensions import babel, csrf, db, login_manager, migrate, migration_directory
from asll.models import AuditEvent, User
from asll.models.base import MAX_ID
from asll.plugins.manager import PluginRegistry
from asll.services.concurrency import as_conflict
from asll.services.errors import Conflict, ServiceError
from asll.tenancy import install_tenant_scoping, reset_request_tenant, set_request_tenant


def create_app(
    config: dict | None = None,
    *,
    load_entry_points: bool = True,
    extra_plugins: Iterable[tuple[str, object]] = (),
) -> Flask:
    settings = load_config(dict(config or {}))
    check_production(settings)  # before anything connects: a French refusal naming the setting
    app = Flask("asll", instance_path=settings["INSTANCE_PATH"], template_folder="web/templates",
                static_folder="web/static")
    app.config.update(settings)
    _trust_proxies(app)
    logging_setup.init_app(app)  # first: request ids for every other hook and log line

    _init_extensions(app)
    init_storage(app)  # attachments, documents and exports: a folder, or a bucket every host shares
    app.url_map.converters["int"] = DatabaseId
    _register_core_blueprints(app)
    registry = PluginRegistry(load_entry_points=load_entry_points, plugins=extra_plugins)
    app.extensions["asll_plugins"] = registry
    _register_plugin_blueprints(app, registry)

    from asll.celery_app import celery_init_app

    celery_init_app(app)
    from asll import cli

    cli.register(app)
    cli.asll_group.add_command(settings_command())
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind ``TRUSTED_PROXIES`` reverse proxies, the client's address and scheme are theirs to tell.

    Werkzeug's ``ProxyFix`` takes that many entries from the right of ``X-Forwarded-For`` and
    ``X-Forwarded-Proto``: the audit trail and the per-IP rate limits then see the client, not the
    proxy. 0 (the default) trusts no header: a client could forge it. ``X-Forwarded-Host`` and
    ``-Prefix`` stay untrusted: a proxy that does not overwrite them would pass a client's on.
    """
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0, x_port=0, x_prefix=0)


class DatabaseId(IntegerConverter):
    """``<int:...>`` limited to what an id column holds: a bigger number is a 404, not a 500."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _tune_sqlite(engine)
    install_tenant_scoping(db.session.session_factory.class_, AuditEvent)
    _database_security(app)
    migrate.init_app(app, db, directory=migration_directory(), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=lambda: "fr", timezone_selector=lambda: "Europe/Paris")
    app.jinja_env.filters["date_fr"] = lambda d, fmt="dd/MM/yyyy": format_date(d, fmt) if d else "—"
    app.jinja_env.filters["datetime_fr"] = lambda d: format_datetime(d, "dd/MM/yyyy HH:mm") if d else "—"

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Veuillez vous connecter pour accéder à cette page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def _load_user(user_id: str):
        """The user of a session still valid server-side (services/sessions.py), else anonymous."""
        from flask import flash, session

        from asll.services import sessions

        result = sessions.check(int(user_id), session.get(sessions.COOKIE_KEY)) if user_id.isdigit() \
            else sessions.Check(None)
        if result.user is None:
            session.clear()  # a revoked or expired session's cookie is dropped
            if result.ended:
                g.session_ended = True
                flash(sessions.ENDED_MESSAGES[result.ended], "info")
            return None
        g.session_id = result.session_id
        return result.user

    @login_manager.unauthorized_handler
    def _unauthorized():
        from flask import flash, redirect
        from flask_login.utils import login_url

        if not g.get("session_ended"):
            flash(login_manager.login_message, login_manager.login_message_category)
        return redirect(login_url(login_manager.login_view, next_url=request.url))

    from asll import rate_limits

    rate_limits.init_app(app)

    app.before_request(_set_tenant_context)
    app.teardown_request(_reset_tenant_context)
    app.after_request(_security_headers)

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError):
        if isinstance(exc, Conflict):  # someone else acted first: offer the page again, as it is now
            return render_template("error.html", title="Modifié entre-temps", message=exc.message,
                                   back=_same_site_referrer()), exc.status
        return render_template("error.html", title="Action impossible", message=exc.message), exc.status

    @app.errorhandler(sa.exc.DBAPIError)
    @app.errorhandler(StaleDataError)
    def _database_race(exc):
        """A concurrent writer won at the database (see ``concurrency.as_conflict``): a 409, not a 500."""
        conflict = as_conflict(exc)
        if conflict is None:
            raise exc
        return _service_error(conflict)

    @app.errorhandler(404)
    def _not_found(_exc):
        return render_template("error.html", title="Page introuvable",
                               message="La page ou l'élément demandé n'existe pas, ou vous n'y avez pas accès."), 404

    @app.errorhandler(403)
    def _forbidden(_exc):
        return render_template("error.html", title="Accès refusé",
                               message="Vous n'avez pas les droits nécessaires pour cette page."), 403

    @app.errorhandler(400)
    def _bad_request(_exc):
        return render_template("error.html", title="Demande invalide",
                               message="La demande envoyée n'est pas valide. Revenez à la page précédente et "
                                       "recommencez."), 400

    @app.errorhandler(405)
    def _method_not_allowed(_exc):
        return render_template("error.html", title="Action impossible",
                               message="Cette adresse ne permet pas cette action."), 405

    @app.errorhandler(413)
    def _too_large(_exc):
        from asll.services.documents import MAX_ATTACHMENT_BYTES

        return render_template("error.html", title="Fichier trop volumineux",
                               message="L'envoi dépasse la taille autorisée : "
                                       f"{MAX_ATTACHMENT_BYTES // (1024 * 1024)} Mo au plus par pièce jointe."), 413

    @app.errorhandler(CSRFError)
    def _csrf(_exc):
        return render_template("error.html", title="Formulaire expiré",
                               message="Le formulaire a expiré ou n'est pas valide. Rechargez la page et recommencez."), 400


def _same_site_referrer() -> str | None:
    """The page the form was posted from, when it is one of ours (never an outside address)."""
    from urllib.parse import urlsplit

    parts = urlsplit(request.referrer or "")
    if parts.netloc != request.host or not parts.path.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _database_security(app: Flask) -> None:
    """PostgreSQL: every transaction carries its tenant for row-level security, and the role the
    app connects as must be held by it (not a superuser, not the tables' owner, not maintenance).

    A wrong role is a warning, or in production (``DATABASE_ROLE_CHECK=refuse``) a refusal to
    start. Migrations run as the owner on purpose: that one command says so with
    ``ASLL_DATABASE_ROLE_CHECK=off`` (README).
    """
    import logging

    from asll.tenancy import database_role_problems, install_row_security

    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "postgresql":
            return
        install_row_security(engine)
        if app.config["DATABASE_ROLE_CHECK"] == "off":
            return
        try:
            with engine.connect() as connection:
                problems = database_role_problems(connection)
        except sa.exc.OperationalError as exc:
            logging.getLogger("asll").warning("Rôle de connexion PostgreSQL non vérifié (base injoignable) : %s", exc)
            return
        finally:
            engine.dispose()  # no connection inherited by forked workers
    if not problems:
        return
    message = ("Rôle de connexion à PostgreSQL à éviter : " + " ; ".join(problems) + ". Connectez l'application "
               "avec un rôle membre de asll_app seulement (README, « Sécurité au niveau des lignes »).")
    if app.config["DATABASE_ROLE_CHECK"] == "refuse":
        raise RuntimeError(f"Démarrage refusé. {message} Pour les migrations seulement, lancées avec le "
                           "propriétaire : ASLL_DATABASE_ROLE_CHECK=off flask db upgrade heads.")
    logging.getLogger("asll").warning(message)


def _tune_sqlite(engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def _set_tenant_context() -> None:
    """Resolve the tenant of this request from the session, checked against the user's memberships."""
    from flask import session

    from asll.services.actor import Actor
    from asll.services.users import memberships_of
    from asll.web import health

    if request.endpoint == "static" or request.endpoint in health.ENDPOINTS:
        # a stylesheet or script needs no user, memberships nor tenant (2 queries saved per file); a
        # health probe must not open a session nor depend on one
        return
    tenant_id = None
    g.actor = Actor(user_id=None, label="anonyme", ip=request.remote_addr or "")
    g.memberships = []
    if current_user.is_authenticated:
        g.memberships = memberships_of(current_user.id)
        wanted = session.get("tenant_id")
        tenant_ids = {m.tenant_id for m in g.memberships}
        if wanted in tenant_ids:
            tenant_id = wanted
        elif len(tenant_ids) == 1 and not current_user.is_platform_admin:
            tenant_id = next(iter(tenant_ids))
            session["tenant_id"] = tenant_id
        g.actor = Actor.for_user(current_user, g.memberships, tenant_id, ip=request.remote_addr or "")
        g.tenant_name = next((m.tenant.name for m in g.memberships if m.tenant_id == tenant_id), "")
    g.tenant_tokens = set_request_tenant(tenant_id)


def _reset_tenant_context(_exc=None) -> None:
    tokens = g.pop("tenant_tokens", None)
    if tokens is not None:
        reset_request_tenant(tokens)


def _security_headers(response):
    """Browser protections on every answer; nothing but the static assets may be stored by a cache.

    Pages, downloads (documents, exports) and API answers hold personal data: ``no-store`` keeps
    them out of shared caches and of the browser's disk and back/forward cache, so that the
    next person on a shared computer cannot bring them back.
    """
    from flask import current_app

    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'"
    )
    if request.endpoint != "static" and "public" not in response.headers.get("Cache-Control", ""):
        response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("Pragma", "no-cache")
    hsts = current_app.config.get("HSTS_SECONDS") or 0
    if hsts:
        response.headers.setdefault("Strict-Transport-Security", f"max-age={int(hsts)}; includeSubDomains")
    return response


def _register_core_blueprints(app: Flask) -> None:
    from asll import api, web
    from asll.web import admin, auth, health, main, reports

    health.init_app(app)  # /healthz, /readyz: no auth, tenant, session, CSRF nor rate limit
    app.register_blueprint(auth.bp)
    app.register_blueprint(main.bp)
    app.register_blueprint(admin.bp)
    web.register(app)
    app.register_blueprint(reports.bp)
    api.init_app(app)


def _register_plugin_blueprints(app: Flask, registry: PluginRegistry) -> None:
    """Plugin pages answer only for tenants that enabled their plugin."""
    for impl in registry.pm.hook.asll_blueprints.get_hookimpls():
        for blueprint in impl.function() or ():
            plugin_name = impl.plugin_name

            def _guard(plugin_name=plugin_name):
                from flask import abort

                from asll.services.plugins import enabled_plugins
                from asll.tenancy import current_tenant_id

                tenant_id = current_tenant_id()
                if tenant_id is None or plugin_name not in enabled_plugins(tenant_id):
                    abort(404)

            blueprint.before_request(_guard)
            app.register_blueprint(blueprint, url_prefix=f"/p/{plugin_name}")
