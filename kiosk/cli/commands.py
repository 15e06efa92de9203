"""What each `kiosk` command does (kiosk.cli.parser parses the arguments)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from kiosk.common import config
from kiosk.calibration.calibrate import CalibrationError
from kiosk.cli.groups import cmd_groups, cmd_people_groups
from kiosk.context import KioskContext
from kiosk.store.db import BUSY_TIMEOUT_MS, SchemaError
from kiosk.store.db_url import gallery_url, shown
from kiosk.enrollment.draft import EnrollmentError
from kiosk.store.gallery import GalleryError
from kiosk.store.gallery_writes import COMMAND_LINE, Author, Enrolled, enroll
from kiosk.vision.images import ImageError
from kiosk.vision.matcher import GalleryIndex
from kiosk.vision.operating_point import CalibrationDataError
from kiosk.door.video import SourceError
from kiosk.models.weights import WeightsError


class UsageError(ValueError):
    """An argument the command cannot use (a malformed date, say)."""


class DatabaseError(RuntimeError):
    """The gallery database refused (locked, full disk, unreachable)."""


KNOWN_ERRORS = (CalibrationDataError, WeightsError, ImageError, EnrollmentError, GalleryError, SourceError,
                DatabaseError, SchemaError, UsageError, CalibrationError)


def run(args, extra_commands: dict) -> int:
    settings = config.load_settings(args.config)
    ctx = KioskContext(settings, gallery_url(args.db).url, args.model_dir or config.model_dir(),
                       settings_file=args.config)
    handler = {**COMMANDS, **extra_commands}[args.command]
    try:
        return handler(ctx, args) or 0
    except OperationalError as exc:
        # One line: PostgreSQL's messages come with hint and detail lines.
        reason = " ".join(str(exc.orig).split())
        if reason == "database is locked":   # SQLite's words
            reason += f" (another program is using it; gave up after {BUSY_TIMEOUT_MS // 1000} s)"
        raise DatabaseError(f"database error: {database_name(ctx.db_url)}: {reason}") from exc
    except SQLAlchemyError as exc:
        raise DatabaseError(f"database error: {database_name(ctx.db_url)}: {exc.__class__.__name__}: {exc}") from exc
    finally:
        ctx.close()


def database_name(url: str) -> str:
    """The gallery as a person knows it: the SQLite file, or the PostgreSQL URL without its password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or "(in memory)"
    return parsed.render_as_string(hide_password=True)


def emit(args, payload: dict, text: str) -> None:
    """JSON on stdout with --json, otherwise the human text."""
    print(json.dumps(payload, ensure_ascii=False) if args.json else text)


def progress(items, label: str):
    """A progress bar on a terminal (stderr), the plain items otherwise."""
    if not sys.stderr.isatty():
        return items
    from tqdm import tqdm
    return tqdm(items, desc=label, unit="img", leave=False)


def cmd_fetch_model(ctx: KioskContext, args) -> int:
    """A line a step on stderr (download, extract, convert), TensorFlow's own
    output only with --verbose (else in conversion.log); --quiet leaves out
    the final line, so nothing is said when everything is in place."""
    from kiosk.models.weights import fetch_model, prepare_models
    def say(message: str) -> None:
        print(f"kiosk fetch-model: {message}", file=sys.stderr, flush=True)
    h5 = fetch_model(ctx.model_dir, log=say)
    prepare_models(ctx.model_dir, log=say, verbose=args.verbose)
    if not args.quiet:
        emit(args, {"weights": str(h5), "model_dir": str(ctx.model_dir)}, f"models ready in {ctx.model_dir}")
    return 0


def cmd_enroll(ctx: KioskContext, args) -> int:
    from kiosk.store.gallery import find_person, person_name
    name = person_name(args.name)   # a bad name is refused before any photo is read
    samples, rejected, index = _samples_from_photos(ctx, name, args.images)
    if rejected:
        # All or nothing: the admin fixes the photo list and enrolls again.
        for r in rejected:
            print(r.reason, file=sys.stderr)
        raise EnrollmentError(f"nothing enrolled: {len(rejected)} of {len(args.images)} photos refused")
    samples, repeats = _without_repeats(samples, index, name)
    with ctx.sessions.begin() as session:
        # every photo already enrolled: nothing to write, and nothing wrong
        total = (_enroll(ctx, session, name, samples).samples if samples
                 else len(find_person(session, name).samples))
    emit(args, {"name": name, "added": len(samples), "already_enrolled": len(repeats), "samples": total},
         f"enrolled {name}: {len(samples)} new sample(s), {total} in all")
    return 0


def _samples_from_photos(ctx: KioskContext, name: str, photos: list) -> tuple[list, list, GalleryIndex]:
    """(samples, rejections, the gallery index they were checked against) of
    kiosk.enrollment.draft.samples_from_photos; its notes on stderr."""
    from kiosk.enrollment.draft import samples_from_photos
    index = ctx.load_index()
    samples, rejected, notes = samples_from_photos(ctx.engine, name, photos, index, ctx.thresholds(index))
    for note in notes:
        print(note, file=sys.stderr)
    return samples, rejected, index


def _enroll(ctx: KioskContext, session, name: str, samples: list) -> Enrolled:
    """Store samples for name, with its audit row (kiosk.store.gallery_writes)."""
    return enroll(session, Author(ctx.settings.kiosk_id, COMMAND_LINE), name, samples, ctx.engine.model_name)


def _without_repeats(samples, index, name: str) -> tuple[list, list]:
    """The samples of photos not enrolled for name yet; a line on stderr for each other."""
    from kiosk.enrollment.same_photo import split_repeats
    new, repeats = split_repeats(samples, index, name)
    for sample in repeats:
        print(f"{sample.source}: already enrolled for {name}, not added again", file=sys.stderr)
    return new, repeats


def cmd_import(ctx: KioskContext, args) -> int:
    """Enroll DIR/<name>/*.jpg, a transaction a person. Photos already enrolled
    are not added again (importing a folder twice adds nothing). Exit 1 when
    anything was skipped (a refused photo, an empty person folder, a loose
    file, a refused folder name): each gets one line on stderr."""
    from kiosk.enrollment.draft import read_people_folders
    from kiosk.store.gallery import person_name
    found = read_people_folders(args.dir)
    for reason in found.skipped:
        print(f"skipped {reason}", file=sys.stderr)
    if not found.people:
        raise EnrollmentError(f"{args.dir}: no sub-folders with photos (expected {args.dir}/<name>/*.jpg)")
    report = []
    for folder, photos in found.people.items():
        try:
            name = person_name(folder)
        except GalleryError as exc:   # this folder is skipped, the others enrolled
            print(f"skipped {args.dir / folder}: {exc}", file=sys.stderr)
            report.append({"name": folder, "added": 0, "already_enrolled": 0, "skipped": len(photos)})
            continue
        samples, rejected, index = _samples_from_photos(ctx, name, list(progress(photos, name)))
        for r in rejected:
            print(f"skipped {r.reason}", file=sys.stderr)
        samples, repeats = _without_repeats(samples, index, name)
        if samples:
            with ctx.sessions.begin() as session:  # one person, one transaction
                _enroll(ctx, session, name, samples)
        report.append({"name": name, "added": len(samples), "already_enrolled": len(repeats),
                       "skipped": len(rejected)})
    lines = [f"{r['name']}: {r['added']} enrolled, {r['already_enrolled']} already enrolled, "
             f"{r['skipped']} skipped" for r in report]
    skipped = len(found.skipped) + sum(r["skipped"] for r in report)
    if found.skipped:
        lines.append(f"{len(found.skipped)} other item(s) skipped")
    emit(args, {"people": report, "skipped": found.skipped}, "\n".join(lines))
    return 1 if skipped else 0


def cmd_people(ctx: KioskContext, args) -> int:
    """Says which gallery it worked on: a "gallery" key with --json, else a
    line on stderr once the work is done (a failure stays one line)."""
    from kiosk.store.gallery import count_people, erase_traces, list_people
    from kiosk.store.gallery_writes import delete, rename
    action = args.action or "list"
    if action in ("join", "leave"):   # access groups (kiosk.cli.groups)
        return cmd_people_groups(ctx, args)
    gallery = shown(ctx.db_url)
    author = Author(ctx.settings.kiosk_id, COMMAND_LINE)
    # Said only once the transaction has committed: a commit refused by a full
    # disk raises instead, and nothing is reported as done that was not.
    with ctx.sessions.begin() as session:
        if action == "rename":
            new = rename(session, author, args.old, args.new)
        elif action == "delete":
            deleted = delete(session, author, args.name)
        else:
            people = list_people(session)
            # The scores name the pipeline they are for (the recognizer checks it
            # against the engine's): no model need load to count its people.
            matched = count_people(session, ctx.impostor_scores.model_name)
    if action == "rename":
        emit(args, {"gallery": gallery, "renamed": args.old, "to": new}, f"renamed {args.old} to {new}")
    elif action == "delete":
        emit(args, {"gallery": gallery, "deleted": deleted.name, "samples": deleted.samples},
             f"deleted {deleted.name} and {deleted.samples} face sample(s)")
        try:
            erase_traces(ctx.sessions, ctx.spool_path.parent, deleted)
        except OSError as exc:   # the deletion stands; the spool file needs a hand
            print(f"kiosk people: {exc.filename}: could not blank {deleted.name}'s spooled snapshots "
                  f"({exc.strerror or exc})", file=sys.stderr)
            return 1
    else:
        point = ctx.operating_point(matched)
        emit(args, {"gallery": gallery, "people": [{"name": p.name, "samples": p.samples} for p in people],
                    "operating_point": {"threshold": round(point.threshold, 4), "fpir": point.fpir,
                                        "overridden": point.overridden, "text": point.describe()}},
             "\n".join([*(f"{p.name}\t{p.samples} sample(s)" for p in people), point.describe()])
             if people else "nobody enrolled")
    if not args.json:
        print(f"gallery: {gallery}", file=sys.stderr)
    return 0


def cmd_identify(ctx: KioskContext, args) -> int:
    from kiosk.vision.images import load_photo
    from kiosk.cli.report import image_json
    recognizer = ctx.recognizer()
    results, failed = [], 0
    for path in progress(args.images, "identify"):
        try:
            photo = load_photo(path)
            results.append(image_json(str(path), recognizer.identify(photo.rgb), None, photo.scale))
        except ImageError as exc:
            failed += 1
            results.append(image_json(str(path), None, str(exc)))
            if not args.json:
                print(exc, file=sys.stderr)
    if args.json:
        print(json.dumps({"results": results}, ensure_ascii=False))
    else:
        for r in results:
            if r["error"] is None:
                names = ", ".join(f["name"] or "unknown" for f in r["faces"]) or "no face"
                print(f"{r['image']}: {names}")
    return 1 if failed else 0


def cmd_verify(ctx: KioskContext, args) -> int:
    from kiosk.enrollment.draft import the_subject
    from kiosk.vision.images import load_rgb
    from kiosk.vision.matcher import cosine_distances
    a = the_subject(ctx.engine, load_rgb(args.image_a), str(args.image_a)).face
    b = the_subject(ctx.engine, load_rgb(args.image_b), str(args.image_b)).face
    distance = float(cosine_distances(a.embedding[None], b.embedding[None])[0, 0])
    threshold = ctx.operating_point(1).threshold   # one comparison: the 1:1 operating point
    same = distance <= threshold
    emit(args, {"same": same, "distance": round(distance, 4), "threshold": round(threshold, 4)},
         f"{'same person' if same else 'different people'} (distance {distance:.3f}, "
         f"threshold {threshold:.3f})")
    return 0 if same else 1   # like cmp(1); trouble is 2 (kiosk.cli.parser)


def cmd_calibrate(ctx: KioskContext, args) -> int:
    from kiosk.calibration.calibration_set import embed_folders
    from kiosk.calibration.calibrate import calibrate, pair_distances, plot
    embeddings, labels, skipped = embed_folders(ctx.engine, args.dir, progress)
    for reason in skipped:
        print(f"skipped {reason}", file=sys.stderr)
    genuine, impostor = pair_distances(embeddings, labels)
    result = calibrate(genuine, impostor, args.far)
    if args.plot:
        plot(genuine, impostor, result, args.plot)
    if args.impostor_scores or args.save:
        from kiosk.vision.operating_point import ImpostorScores
        source = f"{args.dir.name}: {len(labels)} photos of {len(set(labels))} people, central face"
        scores = ImpostorScores.from_distances(impostor, ctx.engine.model_name, source)
        for path in filter(None, (args.impostor_scores, args.save and config.site_scores_path(args.config))):
            scores.save(path)
    payload = {"genuine_pairs": result.genuine_pairs, "impostor_pairs": result.impostor_pairs,
               "auc": round(result.auc, 5), "threshold": round(result.threshold, 4),
               "far": round(result.far, 5), "frr": round(result.frr, 5)}
    emit(args, payload, "\n".join(f"{k}: {v}" for k, v in payload.items()))
    return 0


def warn_if_liveness_off(settings, command: str) -> None:
    """One line on stderr: with liveness off, a photo of a member opens the door."""
    from kiosk.door.liveness import OFF
    if settings.liveness == OFF:
        print(f"{command}: warning: liveness is off: a photo or a screen showing a member opens the door",
              file=sys.stderr)


def cmd_replay(ctx: KioskContext, args) -> int:
    from kiosk.door.log_events import decision_event
    from kiosk.store.event_writer import EventWriter
    from kiosk.cli.report import frame_json
    from kiosk.door.video import VideoSource
    recognizer = ctx.recognizer()
    warn_if_liveness_off(ctx.settings, "kiosk replay")
    writer = EventWriter(ctx.sessions)
    with VideoSource(args.source) as source:
        for frame in source.frames():
            if args.max_frames is not None and frame.index >= args.max_frames:
                break
            result = recognizer.process(frame.time, frame.rgb)
            events = [decision_event(result, d, ctx.settings.kiosk_id) for d in result.decisions]
            if args.log and (error := writer.append(events)):
                raise DatabaseError(error)
            if args.json:
                print(json.dumps(frame_json(frame.index, result), ensure_ascii=False), flush=True)
            else:
                for d in result.decisions:
                    print(f"{frame.time:8.2f}s  {d.type:7s}  {d.name or 'unknown'}", flush=True)
    return 0


def cmd_evaluate(ctx: KioskContext, args) -> int:
    from kiosk.calibration.evaluate import evaluate_gallery, evaluate_pairs, read_pairs
    if args.impostor_scores:
        from kiosk.vision.operating_point import ImpostorScores
        ctx.impostor_scores = ImpostorScores.load(args.impostor_scores)   # instead of the cached shipped ones
    if args.action == "liveness":
        from kiosk.calibration.liveness_eval import evaluate_liveness
        result = evaluate_liveness(ctx.engine, ctx.settings, ctx.impostor_scores, args.dir, progress)
        emit(args, result, _liveness_text(result))
        return 0
    if args.action == "pairs":
        result = evaluate_pairs(ctx.engine, read_pairs(args.pairs_file, args.dir),
                                ctx.operating_point(1).threshold, progress)
    else:
        result = evaluate_gallery(ctx, args.gallery_dir, args.probes_dir, args.plot, progress)
    emit(args, result, "\n".join(f"{k}: {v}" for k, v in result.items()))
    return 0


def _liveness_text(result: dict) -> str:
    lines = [f"liveness: {result['liveness']}"]
    for kind, r in result["attack_types"].items():
        lines.append(f"attack {kind}: {r['accepted']} of {r['attacks']} accepted (APCER {r['apcer']:.1%}), "
                     f"{r['refused_as_spoof']} refused as spoof")
    live = result["live"]
    if live["visits"]:
        lines.append(f"live: {live['refused']} of {live['visits']} visits refused (BPCER {live['bpcer']:.1%}), "
                     f"median {live['median_seconds_to_pass']} s to pass, "
                     f"{live['median_seconds_after_greeting']} s after it would have been greeted")
    return "\n".join(lines)


def _local_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        # The log stores UTC; SQLite compares the text, so the bound must be UTC too.
        return datetime.fromisoformat(text).astimezone().astimezone(timezone.utc)
    except ValueError:
        raise UsageError(f"{text!r} is not a date/time like 2026-11-23 or 2026-11-23T08:30") from None


def cmd_log(ctx: KioskContext, args) -> int:
    from kiosk.store.access_log import LogFilter, list_events, purge_snapshots, write_csv
    if args.action == "purge":
        days = ctx.settings.snapshot_retention_days
        blanked = purge_snapshots(ctx.sessions, days)
        emit(args, {"blanked": blanked, "retention_days": days},
             f"blanked {blanked} snapshot(s) older than {days} days")
        return 0
    where = LogFilter(name=args.name, decision=args.decision,
                      since=_local_time(args.since), until=_local_time(args.until))
    with ctx.sessions.begin() as session:
        if args.csv:
            events = list_events(session, where)
            if str(args.csv) == "-":
                write_csv(events, sys.stdout)
            else:
                with open(args.csv, "w", newline="", encoding="utf-8") as out:
                    count = write_csv(events, out)
                print(f"wrote {count} row(s) to {args.csv}", file=sys.stderr)
            return 0
        events = list_events(session, where, limit=args.limit)
        rows = [{"time": e.time.isoformat(), "kiosk_id": e.kiosk_id, "decision": e.decision,
                 "name": e.name, "distance": e.distance} for e in events]
    emit(args, {"events": rows}, "\n".join(
        f"{r['time'][:19]}  {r['kiosk_id']}  {r['decision']:7s}  {r['name'] or 'unknown'}" for r in rows)
        or "no access events")
    return 0


def cmd_db(ctx: KioskContext, args) -> int:
    """`db upgrade` / `db current`, on the URL itself: ctx.sessions would refuse
    a gallery at an older revision."""
    from kiosk.store import migrations
    from kiosk.store.db import NEWER_DATABASE_ADVICE, SCHEMA_REVISION, known_revision
    if args.action == "upgrade":
        done = migrations.upgrade(ctx.db_url)
        start = migrations.BASELINE if done.stamped else done.before
        lines = [f"stamped {start}: a gallery made before migrations"] if done.stamped else []
        lines.append(f"created the gallery schema at {done.after}" if start is None else
                     f"already at {done.after}, the newest" if start == done.after else
                     f"upgraded {start} to {done.after}")
        emit(args, {"before": done.before, "after": done.after, "stamped": done.stamped}, "\n".join(lines))
        return 0
    revision = migrations.current(ctx.db_url)
    note = ("" if revision == SCHEMA_REVISION else " (an empty database)" if revision is None
            else f"; this kiosk needs {SCHEMA_REVISION}: run `kiosk db upgrade`" if known_revision(revision)
            else f": {NEWER_DATABASE_ADVICE}")
    emit(args, {"revision": revision, "head": SCHEMA_REVISION},
         f"{revision or 'none'}{note}")
    return 0


def cmd_bench(ctx: KioskContext, args) -> int:
    if args.gallery_scale:
        from kiosk.bench.gallery_bench import gallery_scale
        figures = gallery_scale(ctx.db_url, runs=args.runs)
        print(json.dumps(figures, ensure_ascii=False, indent=None if args.json else 2))
        return 0
    from kiosk.bench.run import run_bench
    figures = run_bench(ctx, runs=args.runs, peer=args.peer, idle_seconds=args.idle_seconds)
    print(json.dumps(figures, ensure_ascii=False, indent=None if args.json else 2))
    return 0


COMMANDS = {
    "fetch-model": cmd_fetch_model, "enroll": cmd_enroll, "import": cmd_import,
    "people": cmd_people, "identify": cmd_identify, "verify": cmd_verify,
    "calibrate": cmd_calibrate, "replay": cmd_replay, "log": cmd_log, "bench": cmd_bench,
    "db": cmd_db, "evaluate": cmd_evaluate, "groups": cmd_groups,
}
