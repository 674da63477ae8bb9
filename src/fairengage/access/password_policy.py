"""The password policy: long enough, not the username, not a common or breached password.

The list of common passwords is the one zxcvbn (MIT licence) ships: the 30,000 most frequent
passwords of public breach corpora. It is read from the installed package, never fetched at run time.
"""

from __future__ import annotations

from functools import cache

from zxcvbn.frequency_lists import FREQUENCY_LISTS

from fairengage.errors import FieldError, RecordRefused

RULE_LENGTH = "PASSWORD-LENGTH"
RULE_USERNAME = "PASSWORD-USERNAME"
RULE_COMMON = "PASSWORD-COMMON"
RULE_SAME = "PASSWORD-SAME"
# Usernames shorter than this are not searched for inside the password: "al" would refuse half the
# dictionary while guessing nothing an attacker would not already try.
_SHORTEST_NAME_SEARCHED = 4


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common and breached passwords, lower-cased."""
    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def problems(password: str, *, username: str, min_length: int) -> list[FieldError]:
    """Every rule of the policy the password breaks, each naming its rule; empty when it passes."""
    found: list[FieldError] = []
    if len(password) < min_length:
        found.append(
            FieldError("password", RULE_LENGTH, f"a password needs at least {min_length} characters")
        )
    lowered, name = password.lower(), username.strip().lower()
    if name and (lowered == name or (len(name) >= _SHORTEST_NAME_SEARCHED and name in lowered)):
        found.append(FieldError("password", RULE_USERNAME, "a password must not contain the username"))
    # Spaces and case are stripped too: "Password 1234" is as easy to guess as "password1234".
    if lowered in common_passwords() or lowered.replace(" ", "") in common_passwords():
        found.append(
            FieldError("password", RULE_COMMON, "this password is on a list of common or breached passwords")
        )
    return found


def check(password: str, *, username: str, min_length: int) -> None:
    """RecordRefused naming every broken rule, or nothing when the password passes."""
    found = problems(password, username=username, min_length=min_length)
    if found:
        raise RecordRefused("the password does not meet the password policy", found)
