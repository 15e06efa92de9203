"""`kiosk`: the command line. Parses arguments, runs a command, turns known
errors into one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from pathlib import Path

from kiosk.common import paths
from kiosk.common.config import ConfigError
from kiosk.common.door_events import DECISIONS

EXIT_FAILED = 1
EXIT_USAGE = 2
# `verify` answers with its exit status (1: different people), so trouble
# needs a status of its own for a script to tell the two apart.
EXIT_VERIFY_TROUBLE = 2


def package_version() -> str:
    try:
        return importlib.metadata.version(paths.DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


class _GlobalOptionsEverywhere:
    """A sub-parsers action whose every sub-command also takes the global options."""

    def __init__(self, subparsers, parent: argparse.ArgumentParser):
        self._subparsers, self._parent = subparsers, parent

    def add_parser(self, name: str, **kwargs) -> argparse.ArgumentParser:
        return self._subparsers.add_parser(name, parents=[self._parent], **kwargs)


def add_global_options(parser: argparse.ArgumentParser, after_command: bool = False) -> None:
    """--db, --model-dir, --config, --json. They are accepted before the command
    and after it; after it they default to SUPPRESS, so a value given before
    the command is not overwritten by the sub-command's default."""
    default = {"default": argparse.SUPPRESS} if after_command else {}
    parser.add_argument("--db", metavar="URL", **default,
                        help="gallery database URL (default $KIOSK_DB_URL, else gallery.db in the data folder)")
    parser.add_argument("--model-dir", type=Path, **default,
                        help="folder of the face models (default $KIOSK_MODEL_DIR or facenet_model/)")
    parser.add_argument("--config", type=Path, **default,
                        help="settings file (default $KIOSK_CONFIG, else kiosk.json in the data folder)")
    parser.add_argument("--json", action="store_true", **default, help="machine-readable output on stdout")


DATA_FOLDER_HELP = """\
Global options may come before or after the command.

data folder: gallery.db, kiosk.json and the event spool live in $KIOSK_HOME if
set, else in the project folder (running from a checkout), else in
$XDG_DATA_HOME/door-kiosk, by default ~/.local/share/door-kiosk (an installed
kiosk); never in the current directory. --db, $KIOSK_DB_URL, --config and
$KIOSK_CONFIG override it (a relative path there: relative to where you are).

exit status: 0 done; 1 refused or failed, one line on stderr each (`import`:
also when anything was skipped); 2 usage or settings error, such as a --db
this kiosk cannot open. `verify`: 0 same person, 1 different people, 2 could
not compare."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Face-recognition door kiosk.",
                                     epilog=DATA_FOLDER_HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    add_global_options(parser)
    after = argparse.ArgumentParser(add_help=False)
    add_global_options(after, after_command=True)
    sub = _GlobalOptionsEverywhere(parser.add_subparsers(dest="command", metavar="COMMAND"), after)

    p = sub.add_parser("fetch-model", help="download and check the FaceNet weights, convert the models")
    p.add_argument("--quiet", action="store_true", help="say nothing when all is in place")
    p.add_argument("--verbose", action="store_true",
                   help="show TensorFlow's conversion output (else it goes to MODEL_DIR/conversion.log)")

    p = sub.add_parser("enroll", help="enroll a person from photos (one face each)")
    p.add_argument("name")
    p.add_argument("images", nargs="+", type=Path)

    p = sub.add_parser("import", help="enroll everyone in DIR/<name>/*.jpg")
    p.add_argument("dir", type=Path)

    p = sub.add_parser("people", help="list, rename or delete enrolled people")
    people = _GlobalOptionsEverywhere(p.add_subparsers(dest="action", metavar="ACTION"), after)
    people.add_parser("list", help="everyone enrolled, with sample counts (the default)")
    r = people.add_parser("rename", help="change a person's name")
    r.add_argument("old")
    r.add_argument("new")
    d = people.add_parser("delete", help="delete a person with all their face data")
    d.add_argument("name")
    for action, words in (("join", "put a person in access groups"), ("leave", "take a person out of access groups")):
        j = people.add_parser(action, help=words)
        j.add_argument("name")
        j.add_argument("--group", action="append", required=True, metavar="GROUP",
                       help="an access group (`kiosk groups`); give it again for several")

    add_groups_parser(sub, after)

    p = sub.add_parser("identify", help="who is in these photos")
    p.add_argument("images", nargs="+", type=Path)

    p = sub.add_parser("verify", help="are these two photos the same person",
                       description="Are these two photos the same person? Exit status like cmp(1): "
                       f"0 same person, 1 different people, {EXIT_VERIFY_TROUBLE} could not compare "
                       "(an unreadable photo, no face, several faces, ...).")
    p.add_argument("image_a", type=Path)
    p.add_argument("image_b", type=Path)

    p = sub.add_parser("calibrate", help="choose the threshold from DIR/<name>/*.jpg")
    p.add_argument("dir", type=Path)
    p.add_argument("--far", type=float, default=0.001, help="target false-accept rate (default 0.001)")
    p.add_argument("--plot", type=Path, metavar="FILE.png", help="draw the distributions and the ROC")
    p.add_argument("--save", action="store_true",
                   help="keep these photos' impostor scores: the door's threshold becomes the stricter of "
                        "the shipped one and theirs, at every gallery size")
    p.add_argument("--impostor-scores", type=Path, metavar="FILE.json",
                   help="write the impostor score distribution the door derives its threshold from "
                        "(the shipped one: resources/calibration/impostor_scores.json)")

    p = sub.add_parser("evaluate", help="check the door's decision rule on your own labelled photos")
    p.add_argument("--impostor-scores", type=Path, metavar="FILE.json",
                   help="derive thresholds from these impostor scores (from `calibrate --impostor-scores`) "
                        "instead of the shipped ones: to report on photos the scores were not made from")
    evaluate = _GlobalOptionsEverywhere(p.add_subparsers(dest="action", metavar="ACTION", required=True), after)
    e = evaluate.add_parser("pairs", help="LFW-style pairs file: accuracy, false and true accepts")
    e.add_argument("pairs_file", type=Path, metavar="PAIRS.txt")
    e.add_argument("dir", type=Path, help="photos at DIR/<name>/<name>_000N.jpg")
    e = evaluate.add_parser("gallery", help="open-set 1:N: enroll GALLERY_DIR, match PROBES_DIR")
    e.add_argument("gallery_dir", type=Path, help="GALLERY_DIR/<name>/*.jpg, enrolled in a scratch database")
    e.add_argument("probes_dir", type=Path, help="PROBES_DIR/<name>/*.jpg; a name not enrolled is a stranger")
    e.add_argument("--plot", type=Path, metavar="FILE.png", help="draw FNIR against FPIR")
    e = evaluate.add_parser("liveness", help="labelled clips: attacks accepted (APCER) and live visits refused "
                                             "(BPCER) per the settings' liveness mode")
    e.add_argument("dir", type=Path, help="DIR/attack/<type>/*.mp4 (one attack a clip) and DIR/live/*.mp4")

    p = sub.add_parser("replay", help="run the door's recognition over a video, camera or stream")
    p.add_argument("source", help="video file, camera index (0) or stream URL")
    p.add_argument("--log", action="store_true", help="write the decisions to the access log")
    p.add_argument("--max-frames", type=int, help="stop after this many frames")

    p = sub.add_parser("log", help="show or export the access log; `log purge` applies the snapshot retention")
    log_actions = _GlobalOptionsEverywhere(p.add_subparsers(dest="action", metavar="ACTION"), after)
    log_actions.add_parser("purge", help="blank the snapshots older than the settings' snapshot_retention_days")
    p.add_argument("--name", help="only names containing this")
    p.add_argument("--decision", choices=DECISIONS)
    p.add_argument("--since", help="from this date/time (ISO, local time)")
    p.add_argument("--until", help="before this date/time (ISO, local time)")
    p.add_argument("--limit", type=int, default=50, help="rows to show (default 50; CSV exports all)")
    p.add_argument("--csv", type=Path, metavar="FILE", help="export the matching rows as CSV ('-' for stdout)")

    p = sub.add_parser("bench", help="measure this machine (medians, printed as JSON)")
    p.add_argument("--runs", type=int, default=30, help="timed runs per figure")
    p.add_argument("--peer", action="store_true", help="also time face_recognition (dlib) on the same clip")
    p.add_argument("--gallery-scale", action="store_true",
                   help="only: load and match 10,000 and 100,000 samples in a scratch database on --db's server")
    p.add_argument("--idle-seconds", type=float, default=20.0, help="length of the empty-doorway CPU run (default 20)")

    p = sub.add_parser("db", help="the gallery database's schema: upgrade it, or show its revision")
    db = _GlobalOptionsEverywhere(p.add_subparsers(dest="action", metavar="ACTION", required=True), after)
    db.add_parser("upgrade", help="bring the gallery (SQLite or PostgreSQL) to this kiosk's schema")
    db.add_parser("current", help="print the gallery's schema revision")

    p = sub.add_parser("run", help="open the kiosk window at the door")
    p.add_argument("--source", help="camera index, video file or stream URL (default: the settings' camera)")
    p.add_argument("--demo", action="store_true", help="no camera: sample people and a generated clip")
    p.add_argument("--windowed", action="store_true", help="a normal window instead of fullscreen")
    p.add_argument("--loop", action="store_true", help="play a video file again when it ends")
    p.add_argument("--mute", action="store_true", help="do not speak greetings")
    p.add_argument("--stats", action="store_true", help="show draw rate, stage times, time to greet, CPU")
    p.add_argument("--duration", type=float, metavar="S", help="close after S seconds (measurements)")
    p.add_argument("--report", type=Path, metavar="FILE", help="on exit, write the figures as JSON ('-': stdout)")
    p.add_argument("--screenshot", type=Path, metavar="FILE.png", help="save the window at the first greeting")

    return parser


GROUPS_HELP = """\
A door never restricted admits everyone enrolled at any time. A window
restricts its door (or every door) for good: it then admits only the members
of a group whose window is open now, in the door's local time; anyone else
recognised is refused and logged as outside_hours. Removing windows or groups
never opens a door again (with none left it admits no one): only `groups
open-door` does. A --door no log row, policy or setting names is refused
unless --force. Examples:
  kiosk groups create staff
  kiosk people join "Zoë" --group staff
  kiosk groups allow staff --days mon-fri --hours 07:00-19:00
  kiosk groups allow night --days mon-fri --hours 22:00-06:00 --door back-door
  kiosk groups anti-passback 300          # no second grant within 5 minutes
  kiosk groups open-door --door back-door # everyone again, once its windows are revoked"""


def add_groups_parser(sub, after: argparse.ArgumentParser) -> None:
    """`kiosk groups ...`: the access rules (kiosk.store.access_rules)."""
    p = sub.add_parser("groups", help="access groups, their time windows at the doors, anti-passback",
                       description="Access rules: groups of people, when each may enter.", epilog=GROUPS_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    groups = _GlobalOptionsEverywhere(p.add_subparsers(dest="action", metavar="ACTION"), after)
    groups.add_parser("list", help="every group, its members and windows, and the anti-passback (the default)")
    for action, words in (("create", "a new, empty group"), ("delete", "a group, its windows and memberships")):
        groups.add_parser(action, help=words).add_argument("group")
    a = groups.add_parser("allow", help="let a group in on some days between two times")
    a.add_argument("group")
    a.add_argument("--days", required=True, help="mon-fri, sat,sun, mon,wed,fri or daily")
    a.add_argument("--hours", required=True, help="07:00-19:00 (end excluded); 22:00-06:00 runs past midnight")
    a.add_argument("--door", metavar="KIOSK_ID", help="only at this door (default: every door)")
    r = groups.add_parser("revoke", help="remove a group's windows (all, or those of one door); "
                                         "the doors stay restricted")
    r.add_argument("group")
    r.add_argument("--door", metavar="KIOSK_ID", help="only this door's windows")
    t = groups.add_parser("anti-passback", help="no second grant to one person within SECONDS (0: off)")
    t.add_argument("seconds", type=int)
    t.add_argument("--door", metavar="KIOSK_ID", help="only at this door (default: every door)")
    o = groups.add_parser("open-door", help="lift a door's restriction: everyone enrolled, at any time "
                                            "(its windows revoked first)")
    o.add_argument("--door", metavar="KIOSK_ID", help="this door (default: every door; doors restricted "
                                                      "on their own stay so)")
    for command in (a, r, t, o):
        command.add_argument("--force", action="store_true",
                             help="accept a --door that no log row, policy or setting names yet (a new door)")


def main(argv: list[str] | None = None, extra_commands: dict | None = None) -> int:
    """Run one command. extra_commands maps names to handlers from outside the
    engine (ui/ adds `run`, the window), so the engine never imports Qt."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    from kiosk.cli import commands  # after parsing: `kiosk --help` stays instant
    try:
        return commands.run(args, extra_commands or {})
    except KeyboardInterrupt:
        return 130
    except commands.KNOWN_ERRORS as exc:
        print(f"kiosk {args.command}: {exc}", file=sys.stderr)
        return EXIT_VERIFY_TROUBLE if args.command == "verify" else EXIT_FAILED
    except (ConfigError, paths.DataFolderError) as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
