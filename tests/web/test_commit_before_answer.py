"""Every request's database work is committed before its answer is sent.

FastAPI runs the code after a dependency's `yield` once the response has been sent, unless the
dependency is declared with scope "function". For the request's session that order matters: a
browser that follows the redirect after signing in must find the new session, and a commit that
fails must never follow an answer that said the work was done.
"""

from __future__ import annotations

import inspect

from fastapi.routing import APIRoute

from fairengage.web.deps import db_session


def _sessions_in(dependant):  # type: ignore[no-untyped-def]
    for sub in dependant.dependencies:
        if sub.call is db_session:
            yield sub
        yield from _sessions_in(sub)


def _api_routes(app):  # type: ignore[no-untyped-def]
    try:
        # Recent FastAPI keeps included routers as branches; this walks them to the routes they hold.
        from fastapi.routing import iter_route_contexts

        routes = [context.route for context in iter_route_contexts(app.routes)]
    except ImportError:
        routes = list(app.routes)
    return [route for route in routes if isinstance(route, APIRoute)]


def test_every_route_commits_its_session_before_answering(app):
    checked = 0
    for route in _api_routes(app):
        for dependant in _sessions_in(route.dependant):
            checked += 1
            where = f"{sorted(route.methods)} {route.path}"
            assert dependant.scope == "function", f"{where} commits after answering"
    assert checked > 30  # the pages and API really were inspected


def test_a_signed_in_browser_finds_its_session_on_the_very_next_request(client, world):
    world.officer("C100")
    world.user("committer", "officer", badge="C100", password="a long enough passphrase")
    page = client.get("/login")
    token = page.cookies.get("csrftoken") or client.cookies.get("csrftoken")
    signed_in = client.post(
        "/login",
        data={"username": "committer", "password": "a long enough passphrase", "csrftoken": token},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    assert client.get(signed_in.headers["location"], follow_redirects=False).status_code == 200


def test_every_route_handler_runs_on_a_worker_thread(app):
    """No handler is a coroutine: FastAPI would run it, and its database calls, on the event loop.

    There, a statement waiting for SQLite's write lock stops the loop, and with it the request that holds
    the lock (its commit is scheduled from the loop): in CI a phone's page never loaded while its
    service worker sent a kept record. A form is read by the PostedForm dependency instead.
    """
    handlers = [route for route in _api_routes(app)]
    on_the_loop = [
        f"{sorted(r.methods)} {r.path}" for r in handlers if inspect.iscoroutinefunction(r.endpoint)
    ]
    assert on_the_loop == []
    assert len(handlers) > 30
