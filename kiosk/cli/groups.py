"""`kiosk groups ...` and `kiosk people join|leave NAME --group G`: the access
rules (kiosk.store.access_rules) from the command line. Each change is one
transaction with its line in the audit trail (written by access_rules as the
command line), said only once committed."""

from __future__ import annotations

import sys

from kiosk.context import KioskContext
from kiosk.store import access_rules as rules
from kiosk.store.db_url import shown
from kiosk.store.gallery_writes import COMMAND_LINE, Author


def cmd_groups(ctx: KioskContext, args) -> int:
    action = args.action or "list"
    if action == "list":
        return _list(ctx, args)
    door, new_door = getattr(args, "door", None), getattr(args, "force", False)
    author = Author(ctx.settings.kiosk_id, COMMAND_LINE)
    try:
        payload, text = _change(ctx, args, action, author, door, new_door)
    except rules.UnknownDoor as exc:
        raise rules.AccessRuleError(f"{exc}: give --force to name a new door") from None
    _say(ctx, args, payload, text)
    return 0


def _change(ctx: KioskContext, args, action: str, author: Author, door: str | None,
            new_door: bool) -> tuple[dict, str]:
    """One change in one transaction: (its payload, its text), both ending
    with what the doors now admit."""
    with ctx.sessions.begin() as session:
        if action == "create":
            name = rules.create_group(session, author, args.group).name
            payload, text = {"created": name}, f"created group {name}"
        elif action == "delete":
            gone = rules.delete_group(session, author, args.group)
            payload = {"deleted": gone.name, "members": len(gone.members), "windows": len(gone.windows)}
            text = f"deleted group {gone.name} ({len(gone.members)} member(s), {len(gone.windows)} window(s))"
        elif action == "allow":
            start, end = rules.parse_hours(args.hours)
            window = rules.add_window(session, author, args.group, rules.parse_days(args.days), start, end, door,
                                      new_door)
            payload, text = {"group": window.group, "window": window.describe()}, \
                f"{window.group} may enter {window.describe()}"
        elif action == "revoke":
            removed = rules.remove_windows(session, author, args.group, door, new_door=new_door)
            payload, text = {"group": args.group, "removed": removed}, f"removed {removed} window(s) of {args.group}"
        elif action == "open-door":
            opened = rules.open_door(session, author, door, new_door)
            payload = {"door": door, "opened": opened}
            text = f"opened {door or 'every door'}" if opened else f"{door or 'every door'} was not restricted"
        else:   # anti-passback
            rules.set_anti_passback(session, author, args.seconds, door, new_door)
            where = door or "every door"
            payload = {"door": door, "anti_passback_s": args.seconds}
            text = f"anti-passback at {where}: " + (f"{args.seconds} s" if args.seconds else "off")
        admit = rules.what_doors_admit(session, (ctx.settings.kiosk_id,))
    return {**payload, "doors": _doors_payload(admit)}, "\n".join([text, *_admit_lines(admit)])


def _doors_payload(admit: dict[str | None, str]) -> dict[str, str]:
    """What each door admits, by door id ("*": any other door)."""
    return {door or rules.EVERY_DOOR: text for door, text in admit.items()}


def _admit_lines(admit: dict[str | None, str]) -> list[str]:
    return [f"{door or 'any other door'} admits {text}" for door, text in admit.items()]


def cmd_people_groups(ctx: KioskContext, args) -> int:
    """`kiosk people join|leave NAME --group G [--group G2]`."""
    member = args.action == "join"
    author = Author(ctx.settings.kiosk_id, COMMAND_LINE)
    with ctx.sessions.begin() as session:
        changed = [g for g in args.group if rules.set_member(session, author, args.name, g, member)]
        text = (f"{args.name} {'joined' if member else 'left'} {', '.join(changed)}" if changed
                else f"{args.name}: nothing to change")
        groups = rules.groups_of_people(session)
        admit = rules.what_doors_admit(session, (ctx.settings.kiosk_id,))
    person_groups = next((g for name, g in groups.items() if name == rules.normal_form(args.name)), [])
    _say(ctx, args, {"name": args.name, "changed": changed, "groups": person_groups, "doors": _doors_payload(admit)},
         "\n".join([f"{text}; in: {', '.join(person_groups) or 'no group'}", *_admit_lines(admit)]))
    return 0


def _list(ctx: KioskContext, args) -> int:
    with ctx.sessions.begin() as session:
        groups = rules.list_groups(session)
        passback = rules.policies(session)
        here = rules.load_door_rules(session, ctx.settings.kiosk_id)
        admit = rules.what_doors_admit(session, (ctx.settings.kiosk_id,))
    door = ctx.settings.kiosk_id
    payload = {"groups": [{"name": g.name, "members": g.members, "windows": [w.describe() for w in g.windows]}
                          for g in groups],
               "anti_passback_s": {k or "*": v for k, v in passback.items()},
               "this_door": {"kiosk_id": door, "restricted": here.restricted,
                             "anti_passback_s": here.anti_passback_s},
               "doors": _doors_payload(admit)}
    lines = []
    for g in groups:
        lines.append(f"{g.name}\t{len(g.members)} member(s): {', '.join(g.members) or '-'}")
        lines += [f"\t{w.describe()}" for w in g.windows] or ["\tno window: never admitted by this group"]
    lines += [f"anti-passback at {k or 'every door'}: {f'{v} s' if v else 'off'}" for k, v in passback.items()]
    lines += _admit_lines(admit)
    _say(ctx, args, payload, "\n".join(lines))
    return 0


def _say(ctx: KioskContext, args, payload: dict, text: str) -> None:
    from kiosk.cli.commands import emit
    gallery = shown(ctx.db_url)
    emit(args, {"gallery": gallery, **payload}, text)
    if not args.json:
        print(f"gallery: {gallery}", file=sys.stderr)
