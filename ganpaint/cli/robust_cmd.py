"""``ganpaint fuzz`` and ``ganpaint soak``: the robustness checks, run longer than the tests
run them."""

from __future__ import annotations

import argparse
import json
import sys

from ganpaint.cli.options import check_at_least, check_positive, finite_float


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fuzz",
        help="feed mutated and hostile files to the project, bundle, checkpoint, picture and "
        "classifier/encoder file readers",
        description="Make CASES inputs per target from SEED (mutated valid files, random "
        "JSON, byte flips, truncations, zlib bombs, lying headers) and feed each to its "
        "reader. Every input must either load or be refused with the reader's own error; "
        "any other exception, a loaded result that breaks an invariant, or a case over the "
        "time limit is a bug. Prints the counts per outcome and the first bugs; exit code 1 "
        "when a bug was found.",
    )
    p.add_argument("--cases", type=int, default=1000, help="cases per target (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the run (default 0)")
    p.add_argument(
        "--target",
        choices=["project", "bundle", "checkpoint", "picture", "classifier", "concepts", "all"],
        default="all",
        help="which reader to fuzz (default all); classifier: classifier.safetensors, "
        "encoder.safetensors, classifier_dissection.json and classifier_attack.json; "
        "concepts: custom concept files, read and imported",
    )
    p.add_argument(
        "--time-limit",
        type=finite_float,
        default=20.0,
        help="seconds one case may take (default 20)",
    )
    p.add_argument("--examples", type=int, default=5, help="bugs to show per target")
    p.add_argument("--keep", default=None, help="folder to copy the inputs of bugs into")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_fuzz)

    p = sub.add_parser(
        "soak",
        help="drive thousands of strokes with undo/redo through the engine; report memory",
        description="Paint STROKES random strokes (each with live previews), interleaved with "
        "undo, redo, visibility toggles and seed changes, rendering every snapshot; report "
        "RSS at start, end and peak, the undo history held, and strokes per second. Without "
        "--model a tiny random generator is used (32 px, widths 32,32,16,8, z 16).",
    )
    p.add_argument("--strokes", type=int, default=10_000, help="strokes to commit (default 10000)")
    p.add_argument("--model", default=None, help="bundle folder or checkpoint (default: tiny)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or mps (default cpu)")
    p.add_argument("--seed", type=int, default=0, help="seed of the session (default 0)")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads for rendering (default: the app's policy, every core but one)",
    )
    p.add_argument(
        "--max-growth-mb",
        type=finite_float,
        default=None,
        help="exit 1 when RSS grows more than this from start to end",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_soak)


def _status(line: str) -> None:
    """Rewrite the status line on a terminal's stderr (nothing when stderr is redirected)."""
    if sys.stderr.isatty():
        print(f"\r{line}", end="", file=sys.stderr, flush=True)


def _fuzz(args: argparse.Namespace) -> int:
    import warnings

    from ganpaint.core.errors import GanpaintError
    from ganpaint.robust.fuzz import TARGET_NAMES, fuzz

    if not 1 <= args.cases <= 10_000_000:
        raise GanpaintError(f"--cases must be in 1..10000000, got {args.cases}")
    if args.time_limit <= 0:
        raise GanpaintError("--time-limit must be positive")
    check_at_least(examples=(args.examples, 0))
    targets = TARGET_NAMES if args.target == "all" else (args.target,)
    reports = []
    for target in targets:

        def progress(done: int, report, target=target) -> None:
            if done % 50 == 0 or done == args.cases:
                _status(f"{target}: {done}/{args.cases} cases, {report.bug_count} bugs")

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about the odd files it is fed
            report = fuzz(
                target,
                args.cases,
                seed=args.seed,
                max_examples=args.examples,
                limit_s=args.time_limit,
                progress=progress,
                keep_failures=args.keep,
            )
        if sys.stderr.isatty():
            print(file=sys.stderr)
        reports.append(report)
        if not args.json:
            print("\n".join(report.lines()), flush=True)
    bugs = sum(r.bug_count for r in reports)
    if args.json:
        print(json.dumps({"bugs": bugs, "targets": [r.as_dict() for r in reports]}, indent=2))
    else:
        total = sum(r.cases for r in reports)
        print(f"total: {total} cases, {bugs} bugs")
    return 1 if bugs else 0


def _soak(args: argparse.Namespace) -> int:
    from ganpaint.core.errors import GanpaintError
    from ganpaint.robust.soak import run_soak

    if not 1 <= args.strokes <= 100_000:
        raise GanpaintError(f"--strokes must be in 1..100000, got {args.strokes}")
    check_positive(threads=args.threads)

    def progress(done: int, report) -> None:
        _status(f"soak: {done}/{args.strokes} strokes, RSS {report.rss_now_mb:.0f} MB")

    report = run_soak(
        strokes=args.strokes,
        model=args.model,
        device=args.device,
        seed=args.seed,
        progress=progress,
        threads=args.threads,
    )
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print("\n".join(report.lines()))
    if report.render_errors:
        return 1
    if args.max_growth_mb is not None and report.rss_growth_mb > args.max_growth_mb:
        print(
            f"ganpaint: RSS grew {report.rss_growth_mb:.0f} MB, over --max-growth-mb "
            f"{args.max_growth_mb:.0f}",
            file=sys.stderr,
        )
        return 1
    return 0
