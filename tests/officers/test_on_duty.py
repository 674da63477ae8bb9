"""The officer on duty behind a user: none for a user linked to no officer (a supervisor, an analyst)."""

from __future__ import annotations

from fairengage.officers import service as officers


def test_a_user_linked_to_no_officer_has_no_officer_on_duty(sessions):
    with sessions() as session:
        assert officers.on_duty(session=session, officer_id=None) is None


def test_an_officer_is_on_duty_with_their_badge_and_training(sessions, world):
    world.officer("7001")
    with sessions() as session:
        officer_id = officers.get(session=session, badge="7001").id
        on_duty = officers.on_duty(session=session, officer_id=officer_id)
    assert on_duty is not None
    assert (on_duty.id, on_duty.badge) == (officer_id, "7001")
    assert on_duty.training, "the builder's officer has training dates"
