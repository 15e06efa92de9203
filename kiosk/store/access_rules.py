"""Access rules in the gallery database: groups of people, when each group may
enter at which door, and each door's anti-passback.

A door that was never restricted is today's door: everyone enrolled is
admitted at any time. Adding a window restricts its door (or every door, for
a window at every door) for good: from then on the door admits only the
members of a group with a window open now (kiosk.door.access_rules applies
them), and removing windows, groups or members can only narrow that, down to
no one; only open_door, an explicit and audited step, opens it to everyone
again. The restriction is stored (door_policy.restricted), never inferred
from the windows that happen to remain. A door a write names must be one the
gallery knows (known_doors) unless new_door says it is new on purpose: door
ids are matched exactly, and a mis-typed one would restrict nothing. Every write bumps the gallery's version, so the doors reload
the rules with the gallery within about a second, and writes its line in the
audit trail as its Author (kiosk.store.gallery_writes) in the caller's
transaction: the command line and the admin panel both write through here.
Functions take a Session; callers own the transaction.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import delete, select, union
from sqlalchemy.orm import Session

from kiosk.store.db import (AccessEvent, AccessGroup, AccessWindow, AdminAction, AdminSecret, DoorPolicy, Person,
                            PersonGroup)
from kiosk.store.gallery import GalleryError, bump_gallery_version, get_person, normal_form
from kiosk.store.gallery_writes import Author


class AccessRuleError(GalleryError):
    """A rule the gallery refuses (unknown group, malformed hours); the message says which."""


class UnknownDoor(AccessRuleError):
    """A door id nothing in the gallery names (known_doors): likely mis-typed."""

    def __init__(self, kiosk_id: str, known: list[str]):
        self.kiosk_id, self.known = kiosk_id, known
        near = [k for k in known if k.casefold() == kiosk_id.casefold()]
        super().__init__(f"no log row, policy or setting names a door {kiosk_id!r}"
                         + (f" (did you mean {near[0]!r}?)" if near else "")
                         + f"; known doors: {', '.join(known) or 'none'}")


DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")   # bit 0 .. bit 6: datetime.weekday()
EVERY_DAY = 0b1111111
MAX_GROUP_NAME = 100
MAX_ANTI_PASSBACK_S = 86400
EVERY_DOOR = "*"   # door_policy.kiosk_id of the every-door row (the API says None)
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class Window:
    """A group's window at a door (kiosk_id None: every door)."""

    id: int
    group_id: int
    group: str
    kiosk_id: str | None
    days: int            # bit 0 Monday ... bit 6 Sunday
    start_minute: int    # after midnight, door's local time
    end_minute: int      # exclusive; before start_minute: runs past midnight

    def describe(self) -> str:
        door = "every door" if self.kiosk_id is None else self.kiosk_id
        return f"{days_text(self.days)} {hours_text(self.start_minute, self.end_minute)} ({door})"


@dataclass(frozen=True)
class DoorRules:
    """What one door needs to decide, loaded with the gallery: whether it is
    restricted (False: everyone enrolled may enter at any time), the windows
    that apply to it, who is in which group, and its anti-passback (0: off)."""

    windows: tuple[Window, ...] = ()
    groups_of: dict[int, frozenset[int]] = field(default_factory=dict)   # person id -> group ids
    anti_passback_s: int = 0
    restricted: bool = False

    def admits(self) -> str:
        """Who this door lets in, in words."""
        if not self.restricted:
            return "everyone enrolled, at any time"
        groups = sorted({w.group for w in self.windows})
        if not groups:
            return "no one (restricted, and no group has a window here)"
        return f"only the members of {', '.join(groups)}, in their windows"


@dataclass(frozen=True)
class GroupSummary:
    name: str
    members: list[str]
    windows: list[Window]


# ---- words <-> values ---------------------------------------------------------

def parse_days(text: str) -> int:
    """"mon-fri", "sat,sun", "mon,wed,fri", "daily" (or "every day") as a weekday bit mask."""
    words = text.strip().lower()
    if words in ("daily", "every day", "all"):
        return EVERY_DAY
    mask = 0
    for part in filter(None, (p.strip() for p in words.split(","))):
        first, _, last = (w.strip()[:3] for w in part.partition("-"))
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            raise AccessRuleError(f"{text!r} is not days like mon-fri, sat,sun or daily")
        start, end = DAY_NAMES.index(first), DAY_NAMES.index(last or first)
        for offset in range((end - start) % 7 + 1):   # fri-mon wraps over the weekend
            mask |= 1 << (start + offset) % 7
    if not mask:
        raise AccessRuleError(f"{text!r} is not days like mon-fri, sat,sun or daily")
    return mask


def days_text(mask: int) -> str:
    """The mask in words: "Mon-Fri", "Sat,Sun", "daily"."""
    if mask == EVERY_DAY:
        return "daily"
    runs, day = [], 0
    while day < 7:
        if mask >> day & 1:
            end = day
            while end + 1 < 7 and mask >> (end + 1) & 1:
                end += 1
            name = DAY_NAMES[day].title()
            runs.append(name if end == day else f"{name}-{DAY_NAMES[end].title()}")
            day = end + 1
        else:
            day += 1
    return ",".join(runs)


def parse_time(text: str, end: bool = False) -> int:
    """"07:00" as minutes after midnight; "24:00" only as an end."""
    found = _TIME.match(text.strip())
    minutes = int(found[1]) * 60 + int(found[2]) if found and int(found[2]) < 60 else -1
    if not (0 <= minutes < 1440 or (end and minutes == 1440)):
        raise AccessRuleError(f"{text!r} is not a time of day like 07:00 (00:00 to {'24:00' if end else '23:59'})")
    return minutes


def parse_hours(text: str) -> tuple[int, int]:
    """"07:00-19:00" (the end excluded) as (start, end) minutes; "22:00-06:00"
    runs past midnight; "00:00-24:00" is the whole day."""
    start, dash, end = text.partition("-")
    if not dash:
        raise AccessRuleError(f"{text!r} is not hours like 07:00-19:00")
    first, last = parse_time(start), parse_time(end, end=True)
    if first == last:
        raise AccessRuleError(f"{text!r} starts when it ends: for the whole day give 00:00-24:00")
    return first, last


def hours_text(start: int, end: int) -> str:
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def group_name(typed: str) -> str:
    """A group's name as stored: NFC, trimmed, one line, at most MAX_GROUP_NAME characters."""
    name = normal_form(typed)
    if not name or len(name) > MAX_GROUP_NAME or any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in name):
        raise AccessRuleError(f"a group needs a name of 1 to {MAX_GROUP_NAME} characters on one line, not {typed!r}")
    return name


# ---- reads ------------------------------------------------------------------

def find_group(session: Session, name: str) -> AccessGroup | None:
    return session.scalars(select(AccessGroup).where(AccessGroup.name == normal_form(name))).one_or_none()


def get_group(session: Session, name: str) -> AccessGroup:
    group = find_group(session, name)
    if group is None:
        raise AccessRuleError(f"no group named {name!r}")
    return group


def _windows(session: Session, *where) -> list[Window]:
    rows = session.execute(select(AccessWindow, AccessGroup.name)
                           .join(AccessGroup, AccessWindow.group_id == AccessGroup.id)
                           .where(*where).order_by(AccessGroup.name, AccessWindow.id))
    return [Window(w.id, w.group_id, name, w.kiosk_id, w.days, w.start_minute, w.end_minute) for w, name in rows]


def list_groups(session: Session) -> list[GroupSummary]:
    """Every group with its members (by name) and its windows, by group name."""
    members: dict[int, list[str]] = {}
    for group_id, person in session.execute(select(PersonGroup.group_id, Person.name).join(Person)
                                            .order_by(Person.name)):
        members.setdefault(group_id, []).append(person)
    windows: dict[int, list[Window]] = {}
    for window in _windows(session):
        windows.setdefault(window.group_id, []).append(window)
    return [GroupSummary(g.name, members.get(g.id, []), windows.get(g.id, []))
            for g in session.scalars(select(AccessGroup).order_by(AccessGroup.name))]


def groups_of_people(session: Session) -> dict[str, list[str]]:
    """Each person's group names, by person name (people in no group left out)."""
    out: dict[str, list[str]] = {}
    for person, group in session.execute(select(Person.name, AccessGroup.name).select_from(PersonGroup)
                                         .join(Person).join(AccessGroup).order_by(Person.name, AccessGroup.name)):
        out.setdefault(person, []).append(group)
    return out


def load_door_rules(session: Session, kiosk_id: str | None) -> DoorRules:
    """The rules of the door kiosk_id, as it applies them (read with the
    gallery); None: those of a door with no rules of its own. Restricted when
    the door or every door was restricted, or (a floor, should a window ever
    be written without it) when a window applies."""
    own = kiosk_id or EVERY_DOOR
    windows = tuple(_windows(session, (AccessWindow.kiosk_id == kiosk_id) | AccessWindow.kiosk_id.is_(None)))
    policy = {row.kiosk_id: row for row in session.scalars(select(DoorPolicy).where(
        DoorPolicy.kiosk_id.in_({own, EVERY_DOOR})))}
    restricted = bool(windows) or any(row.restricted for row in policy.values())
    seconds = next((row.anti_passback_s for row in (policy.get(own), policy.get(EVERY_DOOR))
                    if row is not None and row.anti_passback_s is not None), 0)
    groups_of: dict[int, set[int]] = {}
    if windows:
        for person_id, group_id in session.execute(select(PersonGroup.person_id, PersonGroup.group_id)):
            groups_of.setdefault(person_id, set()).add(group_id)
    return DoorRules(windows, {p: frozenset(g) for p, g in groups_of.items()}, seconds, restricted)


def known_doors(session: Session) -> list[str]:
    """Every door id the gallery names: in the access log, the audit trail, an
    admin PIN, a policy or a window."""
    named = union(*(select(column) for column in (AccessEvent.kiosk_id, AdminAction.kiosk_id, AdminSecret.kiosk_id,
                                                  DoorPolicy.kiosk_id, AccessWindow.kiosk_id)))
    return sorted(d for d in session.scalars(select(named.subquery().c[0])) if d and d != EVERY_DOOR)


def what_doors_admit(session: Session, also: tuple[str, ...] = ()) -> dict[str | None, str]:
    """Who each door with rules of its own (and each of also) admits, and last
    (key None) any other door: after every change, said to whoever made it."""
    doors = set(also) | set(session.scalars(select(DoorPolicy.kiosk_id).where(DoorPolicy.kiosk_id != EVERY_DOOR)))
    doors |= set(session.scalars(select(AccessWindow.kiosk_id).where(AccessWindow.kiosk_id.is_not(None))))
    return {**{door: load_door_rules(session, door).admits() for door in sorted(doors)},
            None: load_door_rules(session, None).admits()}


def _door(session: Session, author: Author, kiosk_id: str | None, new_door: bool) -> str | None:
    """kiosk_id as a write stores it (None: every door); UnknownDoor for one the
    gallery never named, unless new_door (the author's own door is known)."""
    door = (kiosk_id or "").strip() or None
    if door == EVERY_DOOR:
        raise AccessRuleError(f"{EVERY_DOOR!r} is not a door id: leave the door out for every door")
    if door is not None and not new_door and door != author.kiosk_id:
        known = known_doors(session)
        if door not in known:
            raise UnknownDoor(door, sorted({*known, author.kiosk_id}))
    return door


def _find_policy(session: Session, door: str | None) -> DoorPolicy | None:
    return session.scalars(select(DoorPolicy).where(DoorPolicy.kiosk_id == (door or EVERY_DOOR))).one_or_none()


def _policy(session: Session, door: str | None) -> DoorPolicy:
    """The door's policy row (door None: every door's), made when it has none."""
    row = _find_policy(session, door)
    if row is None:
        row = DoorPolicy(kiosk_id=door or EVERY_DOOR, restricted=False)
        session.add(row)
    return row


# ---- writes (each bumps the gallery's version, the doors reload, and each
# change writes its audit line as its author) --------------------------------

def create_group(session: Session, author: Author, name: str) -> AccessGroup:
    name = group_name(name)
    bump_gallery_version(session)
    if find_group(session, name) is not None:
        raise AccessRuleError(f"a group named {name!r} exists already")
    group = AccessGroup(name=name)
    session.add(group)
    session.flush()
    author.record(session, "groups create", f"created group {name}")
    return group


def delete_group(session: Session, author: Author, name: str) -> GroupSummary:
    """Delete a group with its windows and memberships (the people stay)."""
    bump_gallery_version(session)
    group = get_group(session, name)
    summary = next(g for g in list_groups(session) if g.name == group.name)
    session.delete(group)
    session.flush()
    author.record(session, "groups delete", f"deleted group {summary.name} ({len(summary.members)} member(s), "
                                            f"{len(summary.windows)} window(s))")
    return summary


def set_member(session: Session, author: Author, person: str, group: str, member: bool) -> bool:
    """Put a person in a group or take them out; False when it was so already
    (and nothing is recorded)."""
    bump_gallery_version(session)
    found_person, found_group = get_person(session, person), get_group(session, group)
    row = session.get(PersonGroup, (found_person.id, found_group.id))
    if (row is not None) == member:
        return False
    if member:
        session.add(PersonGroup(person_id=found_person.id, group_id=found_group.id))
    else:
        session.delete(row)
    session.flush()
    author.record(session, f"people {'join' if member else 'leave'}",
                  f"{found_person.name} {'joined' if member else 'left'} {found_group.name}")
    return True


def add_window(session: Session, author: Author, group: str, days: int, start_minute: int, end_minute: int,
               kiosk_id: str | None = None, new_door: bool = False) -> Window:
    """Let group in on these days between these times, at kiosk_id (None:
    every door), and restrict that door (every door) until open_door."""
    if not 1 <= days <= EVERY_DAY:
        raise AccessRuleError("a window needs at least one day")
    if not (0 <= start_minute < 1440 and 0 < end_minute <= 1440 and start_minute != end_minute):
        raise AccessRuleError(f"{hours_text(start_minute, end_minute)} are not hours a window can have")
    bump_gallery_version(session)
    kiosk_id = _door(session, author, kiosk_id, new_door)
    found = get_group(session, group)
    row = AccessWindow(group_id=found.id, kiosk_id=kiosk_id, days=days, start_minute=start_minute,
                       end_minute=end_minute)
    session.add(row)
    _policy(session, kiosk_id).restricted = True
    session.flush()
    window = Window(row.id, found.id, found.name, row.kiosk_id, days, start_minute, end_minute)
    author.record(session, "groups allow", f"{window.group} may enter {window.describe()}")
    return window


def remove_windows(session: Session, author: Author, group: str, kiosk_id: str | None = None,
                   window_id: int | None = None, new_door: bool = False) -> int:
    """Remove a group's windows: the one window_id, else those at kiosk_id,
    else all of them. Returns how many went. Their doors stay restricted."""
    bump_gallery_version(session)
    kiosk_id = _door(session, author, kiosk_id, new_door)
    found = get_group(session, group)
    query = delete(AccessWindow).where(AccessWindow.group_id == found.id)
    if window_id is not None:
        query = query.where(AccessWindow.id == window_id)
    elif kiosk_id is not None:
        query = query.where(AccessWindow.kiosk_id == kiosk_id)
    removed = session.execute(query.execution_options(synchronize_session=False)).rowcount
    author.record(session, "groups revoke", f"removed {removed} window(s) of {found.name}"
                  + (f" at {kiosk_id}" if kiosk_id is not None and window_id is None else ""))
    return removed


def set_anti_passback(session: Session, author: Author, seconds: int, kiosk_id: str | None = None,
                      new_door: bool = False) -> None:
    """No second grant to one person within seconds at kiosk_id (None: every
    door without its own setting); 0 turns it off."""
    if not 0 <= seconds <= MAX_ANTI_PASSBACK_S:
        raise AccessRuleError(f"anti-passback must be 0 (off) to {MAX_ANTI_PASSBACK_S} seconds, not {seconds}")
    bump_gallery_version(session)
    kiosk_id = _door(session, author, kiosk_id, new_door)
    _policy(session, kiosk_id).anti_passback_s = seconds
    session.flush()
    author.record(session, "groups anti-passback",
                  f"anti-passback at {kiosk_id or 'every door'}: {f'{seconds} s' if seconds else 'off'}")


def open_door(session: Session, author: Author, kiosk_id: str | None = None, new_door: bool = False) -> bool:
    """Lift kiosk_id's restriction (None: every door's; doors restricted on
    their own stay so): everyone enrolled is admitted there at any time again.
    False when it was not restricted (nothing recorded). AccessRuleError when
    the door would stay restricted all the same: windows still apply there,
    or every door is restricted."""
    bump_gallery_version(session)
    kiosk_id = _door(session, author, kiosk_id, new_door)
    where = kiosk_id or "every door"
    applying = _windows(session, AccessWindow.kiosk_id.is_(None) if kiosk_id is None else
                        (AccessWindow.kiosk_id == kiosk_id) | AccessWindow.kiosk_id.is_(None))
    if applying:
        raise AccessRuleError(f"windows still apply at {where}: "
                              + "; ".join(f"{w.group} {w.describe()}" for w in applying)
                              + ": revoke them first")
    every_door = _find_policy(session, None)
    if kiosk_id is not None and every_door is not None and every_door.restricted:
        raise AccessRuleError(f"{kiosk_id} stays restricted while every door is: open every door instead")
    row = _find_policy(session, kiosk_id)
    if row is None or not row.restricted:
        return False
    row.restricted = False
    session.flush()
    author.record(session, "groups open-door", f"opened {where} to everyone enrolled, at any time")
    return True


def policies(session: Session) -> dict[str | None, int]:
    """Every anti-passback setting, by door (None: every door; 0: off there)."""
    return {None if door == EVERY_DOOR else door: seconds
            for door, seconds in session.execute(select(DoorPolicy.kiosk_id, DoorPolicy.anti_passback_s))
            if seconds is not None}
