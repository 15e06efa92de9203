"""Access rules in the gallery database: groups of people, when each group may
enter at which door, and each door's anti-passback.

No rule at a door means today's door: everyone enrolled is admitted at any
time. Once a door has a window (its own, or one for every door), it admits
only the members of a group with a window open now (kiosk.door.access_rules
applies them). Every write bumps the gallery's version, so the doors reload
the rules with the gallery within about a second, and writes its line in the
audit trail as its Author (kiosk.store.gallery_writes) in the caller's
transaction: the command line and the admin panel both write through here.
Functions take a Session; callers own the transaction.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kiosk.store.db import AccessGroup, AccessWindow, DoorPolicy, Person, PersonGroup
from kiosk.store.gallery import GalleryError, bump_gallery_version, get_person, normal_form
from kiosk.store.gallery_writes import Author


class AccessRuleError(GalleryError):
    """A rule the gallery refuses (unknown group, malformed hours); the message says which."""


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
    """What one door needs to decide, loaded with the gallery: the windows that
    apply to it, who is in which group, and its anti-passback (0: off)."""

    windows: tuple[Window, ...] = ()
    groups_of: dict[int, frozenset[int]] = field(default_factory=dict)   # person id -> group ids
    anti_passback_s: int = 0

    @property
    def restricted(self) -> bool:
        """False: no window applies here, and everyone enrolled may enter at any time."""
        return bool(self.windows)


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


def anti_passback_s(session: Session, kiosk_id: str | None) -> int:
    """The door's anti-passback: its own setting, else every door's, else 0 (off)."""
    rows = dict(session.execute(select(DoorPolicy.kiosk_id, DoorPolicy.anti_passback_s)
                                .where(DoorPolicy.kiosk_id.in_({kiosk_id or EVERY_DOOR, EVERY_DOOR}))).all())
    return rows.get(kiosk_id or EVERY_DOOR, rows.get(EVERY_DOOR, 0))


def load_door_rules(session: Session, kiosk_id: str) -> DoorRules:
    """The rules of the door kiosk_id, as it applies them (read with the gallery)."""
    windows = tuple(_windows(session, (AccessWindow.kiosk_id == kiosk_id) | AccessWindow.kiosk_id.is_(None)))
    groups_of: dict[int, set[int]] = {}
    if windows:
        for person_id, group_id in session.execute(select(PersonGroup.person_id, PersonGroup.group_id)):
            groups_of.setdefault(person_id, set()).add(group_id)
    return DoorRules(windows, {p: frozenset(g) for p, g in groups_of.items()}, anti_passback_s(session, kiosk_id))


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
               kiosk_id: str | None = None) -> Window:
    """Let group in on these days between these times, at kiosk_id (None: every door)."""
    if not 1 <= days <= EVERY_DAY:
        raise AccessRuleError("a window needs at least one day")
    if not (0 <= start_minute < 1440 and 0 < end_minute <= 1440 and start_minute != end_minute):
        raise AccessRuleError(f"{hours_text(start_minute, end_minute)} are not hours a window can have")
    bump_gallery_version(session)
    found = get_group(session, group)
    row = AccessWindow(group_id=found.id, kiosk_id=kiosk_id or None, days=days, start_minute=start_minute,
                       end_minute=end_minute)
    session.add(row)
    session.flush()
    window = Window(row.id, found.id, found.name, row.kiosk_id, days, start_minute, end_minute)
    author.record(session, "groups allow", f"{window.group} may enter {window.describe()}")
    return window


def remove_windows(session: Session, author: Author, group: str, kiosk_id: str | None = None,
                   window_id: int | None = None) -> int:
    """Remove a group's windows: the one window_id, else those at kiosk_id,
    else all of them. Returns how many went."""
    bump_gallery_version(session)
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


def set_anti_passback(session: Session, author: Author, seconds: int, kiosk_id: str | None = None) -> None:
    """No second grant to one person within seconds at kiosk_id (None: every
    door without its own setting); 0 turns it off."""
    if not 0 <= seconds <= MAX_ANTI_PASSBACK_S:
        raise AccessRuleError(f"anti-passback must be 0 (off) to {MAX_ANTI_PASSBACK_S} seconds, not {seconds}")
    bump_gallery_version(session)
    row = session.scalars(select(DoorPolicy).where(DoorPolicy.kiosk_id == (kiosk_id or EVERY_DOOR))).one_or_none()
    if row is None:
        row = DoorPolicy(kiosk_id=kiosk_id or EVERY_DOOR)
        session.add(row)
    row.anti_passback_s = seconds
    session.flush()
    author.record(session, "groups anti-passback",
                  f"anti-passback at {kiosk_id or 'every door'}: {f'{seconds} s' if seconds else 'off'}")


def policies(session: Session) -> dict[str | None, int]:
    """Every anti-passback setting, by door (None: every door; 0: off there)."""
    return {None if door == EVERY_DOOR else door: seconds
            for door, seconds in session.execute(select(DoorPolicy.kiosk_id, DoorPolicy.anti_passback_s))}
