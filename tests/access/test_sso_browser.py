"""In Chromium at a phone's size: a supervisor signs in through the real OpenID provider and out again."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from access.estate import PASSWORD
from access.oidc_provider import Provider, running
from fairengage.access import oidc
from live import free_port, live_server

pytestmark = pytest.mark.browser


def test_sign_in_and_out_through_the_provider(browser, world, settings, tmp_path: Path) -> None:
    from fairengage.app import create_app

    world.officer("S7", "D14", name="Sergeant Okafor")
    world.user("okafor", "supervisor", badge="S7", password=PASSWORD)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    provider = Provider()
    provider.add_client("fairengage", "browser-test-secret", base + oidc.CALLBACK_PATH)
    provider.add_person("okafor", ["FE-Sergeants"])
    configured = settings.model_copy(
        update={
            "public_url": base,
            "oidc_issuer": provider.issuer,
            "oidc_client_id": "fairengage",
            "oidc_client_secret": SecretStr("browser-test-secret"),
            "oidc_role_map": "FE-Sergeants=supervisor",
            # Single sign-on answers for the second factor: the policy must not hold this session back.
            "require_second_factor": True,
        }
    )
    with running(provider), live_server(create_app(configured), port=port):
        context = browser.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        page.goto(f"{base}/login?next=/engagements")
        page.screenshot(path=str(tmp_path / "sso-login.png"), full_page=True)
        page.get_by_role("link", name="Sign in with your organisation's account").click()
        page.wait_for_url(f"{provider.issuer}/authorize?*")
        page.get_by_label("Username").fill("okafor")
        page.get_by_role("button", name="Sign in at provider").click()
        page.wait_for_url(f"{base}/engagements")
        assert "okafor" in page.content()
        page.screenshot(path=str(tmp_path / "sso-signed-in.png"), full_page=True)

        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{base}/logout")
        page.screenshot(path=str(tmp_path / "sso-signed-out.png"), full_page=True)
        page.get_by_role("link", name="Sign out of your organisation's account").click()
        page.wait_for_url(f"{base}/")
        assert provider.ended_sessions and provider.ended_sessions[-1]["client_id"] == "fairengage"
        page.goto(f"{base}/engagements")
        page.wait_for_url(f"{base}/login?next=/engagements*")
        context.close()
