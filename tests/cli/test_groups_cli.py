"""`kiosk groups ...` and `kiosk people join|leave --group` on a real SQLite gallery."""

from __future__ import annotations

import json

import numpy as np
from sqlalchemy import select

from kiosk.store.db import AdminAction
from kiosk.store.gallery import NewSample, add_samples


def enrolled(sessions, *names) -> None:
    with sessions.begin() as s:
        for seed, name in enumerate(names):
            v = np.random.default_rng(seed).normal(size=128).astype(np.float32)
            add_samples(s, name, [NewSample(v / np.linalg.norm(v), b"\xff\xd8", 1.0)], "m")


def ok(result) -> dict:
    code, out, err = result
    assert code == 0, err
    return json.loads(out)


def test_groups_windows_members_and_anti_passback_from_the_command_line(kiosk, sessions):
    enrolled(sessions, "Ada", "Zoë")
    assert ok(kiosk("groups"))["this_door"] == {"kiosk_id": "door-1", "restricted": False, "anti_passback_s": 0}
    assert ok(kiosk("groups", "create", "staff"))["created"] == "staff"
    window = ok(kiosk("groups", "allow", "staff", "--days", "mon-fri", "--hours", "07:00-19:00"))
    assert window["window"] == "Mon-Fri 07:00-19:00 (every door)"
    ok(kiosk("groups", "allow", "staff", "--days", "sat", "--hours", "22:00-06:00", "--door", "back-door",
             "--force"))
    joined = ok(kiosk("people", "join", "Zoë", "--group", "staff"))
    assert (joined["changed"], joined["groups"]) == (["staff"], ["staff"])
    assert ok(kiosk("people", "join", "Zoë", "--group", "staff"))["changed"] == []
    ok(kiosk("groups", "anti-passback", "300"))
    listed = ok(kiosk("groups", "list"))
    assert listed["groups"] == [{"name": "staff", "members": ["Zoë"],
                                 "windows": ["Mon-Fri 07:00-19:00 (every door)", "Sat 22:00-06:00 (back-door)"]}]
    assert listed["anti_passback_s"] == {"*": 300}
    assert listed["this_door"] == {"kiosk_id": "door-1", "restricted": True, "anti_passback_s": 300}
    assert ok(kiosk("people", "leave", "Zoë", "--group", "staff"))["groups"] == []
    assert ok(kiosk("groups", "revoke", "staff", "--door", "back-door"))["removed"] == 1
    assert ok(kiosk("groups", "delete", "staff")) | {"gallery": None, "doors": None} == \
        {"gallery": None, "deleted": "staff", "members": 0, "windows": 1, "doors": None}
    with sessions.begin() as s:
        audit = [(a.action, a.detail) for a in s.scalars(select(AdminAction).order_by(AdminAction.id))]
    assert audit[:3] == [("groups create", "command line: created group staff"),
                         ("groups allow", "command line: staff may enter Mon-Fri 07:00-19:00 (every door)"),
                         ("groups allow", "command line: staff may enter Sat 22:00-06:00 (back-door)")]
    assert ("people join", "command line: Zoë joined staff") in audit and len(audit) == 8   # no-op join: no line


def test_bad_rules_are_one_line_and_exit_1(kiosk, sessions):
    enrolled(sessions, "Ada")
    kiosk("groups", "create", "staff")
    for args, says in [(("groups", "allow", "staff", "--days", "weekdays", "--hours", "07:00-19:00"),
                        "'weekdays' is not days like mon-fri"),
                       (("groups", "allow", "staff", "--days", "mon", "--hours", "7-19"), "not a time of day"),
                       (("groups", "allow", "cleaners", "--days", "mon", "--hours", "07:00-09:00"),
                        "no group named 'cleaners'"),
                       (("groups", "create", "staff"), "exists already"),
                       (("people", "join", "Eve", "--group", "staff"), "no enrolled person named 'Eve'"),
                       (("groups", "anti-passback", "100000"), "0 (off) to 86400 seconds")]:
        code, out, err = kiosk(*args)
        assert (code, out, err.count("\n")) == (1, "", 1) and says in err, (args, err)


def test_a_door_stays_restricted_until_open_door_and_each_change_says_what_doors_admit(kiosk, sessions):
    enrolled(sessions, "Ada")
    kiosk("groups", "create", "staff")
    allowed = ok(kiosk("groups", "allow", "staff", "--days", "daily", "--hours", "00:00-24:00"))
    assert allowed["doors"] == {"door-1": "only the members of staff, in their windows",
                                "*": "only the members of staff, in their windows"}
    revoked = ok(kiosk("groups", "revoke", "staff"))
    nobody = "no one (restricted, and no group has a window here)"
    assert revoked["removed"] == 1 and revoked["doors"] == {"door-1": nobody, "*": nobody}
    ok(kiosk("groups", "delete", "staff"))
    assert ok(kiosk("groups"))["this_door"]["restricted"] is True
    opened = ok(kiosk("groups", "open-door"))
    assert (opened["opened"], opened["doors"]) == (True, {"door-1": "everyone enrolled, at any time",
                                                          "*": "everyone enrolled, at any time"})
    assert ok(kiosk("groups"))["this_door"]["restricted"] is False
    assert ok(kiosk("groups", "open-door"))["opened"] is False       # nothing to open: nothing recorded
    with sessions.begin() as s:
        opened = [a.detail for a in s.scalars(select(AdminAction).where(AdminAction.action == "groups open-door"))]
    assert opened == ["command line: opened every door to everyone enrolled, at any time"]


def test_a_mistyped_door_is_refused_naming_the_known_ones(kiosk, sessions):
    enrolled(sessions, "Ada")
    kiosk("groups", "create", "staff")
    ok(kiosk("groups", "anti-passback", "60", "--door", "Back-Door", "--force"))
    for args in (("allow", "staff", "--days", "mon", "--hours", "07:00-09:00", "--door", "back-door"),
                 ("revoke", "staff", "--door", "back-door"), ("anti-passback", "5", "--door", "back-door"),
                 ("open-door", "--door", "back-door")):
        code, out, err = kiosk("groups", *args)
        assert (code, out, err.count("\n")) == (1, "", 1), (args, err)
        assert ("no log row, policy or setting names a door 'back-door' (did you mean 'Back-Door'?); "
                "known doors: Back-Door, door-1: give --force to name a new door") in err
    assert ok(kiosk("groups", "allow", "staff", "--days", "mon", "--hours", "07:00-09:00", "--door", "Back-Door"))
