"""Each role's desk: the page a signed-in user lands on, with the work waiting for them.

A supervisor's reviews (flagged first), overdue records, escalations and intervention cases; an
analyst's report runs and releases; an auditor's checks and detailed-review samples; an administrator's
users, officers, rule sets and retention. Counts and links only: the work itself stays on the pages of
the capability it belongs to, under that capability's permissions. It sits on top of them all.
"""
