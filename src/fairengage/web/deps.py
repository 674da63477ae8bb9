"""Request dependencies: the database session and the caller, for the API (tokens) and pages (sessions)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Form, Header, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import FormData

from fairengage.access import service as access
from fairengage.access import sessions, totp
from fairengage.access.models import User
from fairengage.access.permissions import allowed
from fairengage.access.principal import Principal
from fairengage.config import Settings
from fairengage.errors import DomainError, Unauthenticated


class LoginRequired(DomainError):
    """A page needs a signed-in user; the handler redirects to the login page."""

    status = 303
    title = "Sign in"
    slug = "login-required"


class PasswordChangeRequired(DomainError):
    """The user's password is temporary; the handler sends them to choose their own first."""

    status = 303
    title = "Choose a new password"
    slug = "password-change-required"


class SecondFactorRequired(DomainError):
    """The user's role reads personal data and the service requires a second factor they have not set up."""

    status = 303
    title = "Set up a second factor"
    slug = "second-factor-required"


# The page where a second factor is set up; with the sign-in pages, all that is open until it is.
SECOND_FACTOR_SETUP_PATH = "/account/second-factor"
_OPEN_WITHOUT_SECOND_FACTOR = frozenset({SECOND_FACTOR_SETUP_PATH, "/login", "/logout"})

# The page where a temporary password is replaced; the only signed-in page open to its holder.
PASSWORD_CHANGE_PATH = "/account/password"  # noqa: S105  # nosec B105 # a path, not a password
# Pages a user with a temporary password may still reach: the change page, and signing out or in.
_OPEN_WITH_TEMPORARY_PASSWORD = frozenset({PASSWORD_CHANGE_PATH, "/login", "/logout"})


def settings_of(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings


def sessions_of(request: Request) -> sessionmaker[Session]:
    """The app's session factory."""
    return request.app.state.sessions


def db_session(request: Request) -> Iterator[Session]:
    """A session for one request, committed when the handler succeeded.

    Routes take it as `DB_SESSION` (scope "function"), so the commit happens before the
    answer is sent: otherwise a browser follows a redirect (after signing in, say) before the write
    is visible, and a failed commit would come after a success was already shown.
    """
    session = request.app.state.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# The request's session as routes take it: committed before the answer is sent (see db_session).
DB_SESSION = Depends(db_session, scope="function")


async def posted_form(request: Request) -> FormData:
    """The posted form, read on the event loop, so that the handler can be a plain function.

    A handler that reads its form itself must be async, and an async handler's database calls block the
    event loop: while one waits for SQLite's write lock, the request holding that lock cannot finish
    (its commit is scheduled from the event loop), and both wait out the busy timeout. Handlers that write
    take the form from here and run on a worker thread, like every other handler.
    """
    return await request.form()


POSTED_FORM = Depends(posted_form)


async def bearer_token(request: Request) -> str:
    """The bearer token the request carries, unchecked; 401 when there is none."""
    # Async and free of I/O, so FastAPI runs it on the event loop, not on a worker thread.
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send an API token as `Authorization: Bearer <token>`")
    return token.strip()


def api_principal(request: Request, token: str = Depends(bearer_token)) -> Principal:
    """The caller named by the bearer token; 401 otherwise."""
    with request.app.state.sessions() as session:
        principal = access.principal_for_token(session=session, token=token)
    if principal is None:
        raise Unauthenticated("the API token is not valid or was revoked")
    request.state.principal = principal
    return principal


def _session_user(request: Request) -> User | None:
    token = request.session.get(sessions.COOKIE_KEY)
    if not isinstance(token, str) or not token:
        return None
    with request.app.state.sessions() as session:
        user = sessions.resume(
            session=session, token=token, settings=settings_of(request), now=datetime.now(UTC)
        )
        if user is None:
            # Ended, expired or unknown: drop the id so that the browser's cookie is cleared too, and
            # let the sign-in page say so (the officer's form may have been on its way).
            request.session.pop(sessions.COOKIE_KEY, None)
            request.session.pop("via", None)
            request.state.session_ended = True
            return None
        session.commit()
        session.expunge(user)
        return user


def optional_page_principal(request: Request) -> Principal | None:
    """The signed-in user of a page, or None."""
    user = _session_user(request)
    principal = Principal.of(user) if user else None
    request.state.principal = principal
    if user is not None and user.password_temporary and request.url.path not in _OPEN_WITH_TEMPORARY_PASSWORD:
        # Whoever set the password knows it: nothing may be done in the account until its owner replaces it.
        raise PasswordChangeRequired("choose a new password to continue")
    if (
        user is not None
        and request.session.get("via") != "sso"
        and totp.required(settings_of(request), user)
        and not totp.enrolled(user)
        and request.url.path not in _OPEN_WITHOUT_SECOND_FACTOR
    ):
        # The identity provider answers for the second factor of single sign-on; a password alone does not.
        raise SecondFactorRequired("set up a second factor to continue")
    return principal


def signed_in_holds(request: Request, permission: str) -> bool:
    """Whether this page's signed-in user holds `permission`: for showing a link, never for guarding one."""
    principal = getattr(request.state, "principal", None)
    return principal is not None and allowed(principal.role, permission)


def page_principal(principal: Principal | None = Depends(optional_page_principal)) -> Principal:
    """The signed-in user of a page; otherwise the visitor is sent to sign in."""
    if principal is None:
        raise LoginRequired("sign in to continue")
    return principal


# The parameters route handlers take, each as one annotation: FastAPI reads the dependency from it, and a
# handler's signature says what it is given (its caller, its session, its form) rather than how.
DbSession = Annotated[Session, DB_SESSION]
PostedForm = Annotated[FormData, POSTED_FORM]
BearerToken = Annotated[str, Depends(bearer_token)]
ApiPrincipal = Annotated[Principal, Depends(api_principal)]
PagePrincipal = Annotated[Principal, Depends(page_principal)]
# The Idempotency-Key header a client repeats when it retries a POST.
IdempotencyKey = Annotated[str | None, Header(max_length=200)]
# A page form's choice among fixed values (a decision, an action, a finding), and the words a person writes
# beside it (a reason, notes, details): one limit each on every page, refused before a handler runs.
FormChoice = Annotated[str, Form(max_length=20)]
FormText = Annotated[str, Form(max_length=4000)]
