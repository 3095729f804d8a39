"""``ganpaint classifier``: the scene classifier of a bundle: train it, dissect its units,
ablate them per class, and summarise the figures. One ``_add_<name>`` function per
subcommand; each handler parses and calls one library function."""

from __future__ import annotations

import argparse
import json
import sys

from ganpaint.cli.options import finite_float, writable_bundle, writable_folder

BUNDLE_HELP = "bundle folder (default: the bundled model)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "classifier",
        help="train, dissect and ablate the bundle's scene classifier",
        description="The other half of network dissection: a scene classifier trained on the "
        "scene world's classes (ganpaint.scenes.scene_class), dissected against the world's "
        "exact labels, its units ablated per class.",
    )
    p.set_defaults(handler=lambda _args: _usage(p))
    subs = p.add_subparsers(title="subcommands", metavar="SUBCOMMAND")
    _add_train(subs)
    _add_dissect(subs)
    _add_ablate(subs)
    _add_summary(subs)
    _add_attack(subs)
    _add_report(subs)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_usage(sys.stderr)
    return 2


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


DEFAULT_WIDTHS_TEXT = "16,M,32,M,64,M,128,128,M,256,256"
"""``models.classifier.DEFAULT_WIDTHS`` spelt for the help (that module imports torch)."""
PRECISION_CHOICES = ("auto", "bf16", "fp32")  # = classify.train.PRECISIONS; --help imports no torch
POOL_CHOICES = ("avg", "max")  # models.classifier.POOLS (a test keeps them equal)


def _add_train(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser(
        "train",
        help="train the scene classifier and store it in the bundle",
        description="Render training scenes (cached in cache/classifier/), train the VGG "
        "classifier, measure its accuracy on held-out scenes and its agreement on GAN "
        "samples, and write classifier.safetensors and the card (bundle.json 'classifier').",
    )
    p.add_argument("bundle", nargs="?", default=None, help=BUNDLE_HELP)
    p.add_argument("--scenes", type=int, default=12000, help="training scenes (default 12000)")
    p.add_argument("--epochs", type=int, default=3, help="passes over them (default 3)")
    p.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    p.add_argument(
        "--lr", type=finite_float, default=2e-3, help="peak learning rate (default 2e-3)"
    )
    p.add_argument("--head-l1", type=finite_float, default=3e-3, help="L1 in the head refit (3e-3)")
    p.add_argument("--dropout", type=finite_float, default=0.5, help="on the pooled units (0.5)")
    p.add_argument(
        "--head-units",
        type=int,
        default=0,
        help="after the refit keep each class's K strongest units, the other weights 0 "
        "(default 0: no pruning)",
    )
    p.add_argument(
        "--refit-scenes", type=int, default=3000, help="training scenes the head is refitted on"
    )
    p.add_argument("--heldout", type=int, default=2000, help="held-out scenes (default 2000)")
    p.add_argument("--gan", type=int, default=500, help="GAN samples for the agreement")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: best)")
    p.add_argument(
        "--precision",
        choices=PRECISION_CHOICES,
        default="auto",
        help="bf16: bfloat16 autocast, channels-last (1.5x faster on an AVX-512 BF16 CPU, "
        "9x slower on an AVX2 one); fp32: plain float32; auto (default): bf16 where the "
        "device computes in bfloat16 natively (CUDA, AVX-512 BF16, AMX), else fp32",
    )
    p.add_argument(
        "--widths",
        default=None,
        help=f"conv widths, M for a 2x2 max-pool (default {DEFAULT_WIDTHS_TEXT}: the last "
        "two conv layers see 8 x 8 positions of a 128 px scene)",
    )
    p.add_argument(
        "--pool",
        choices=POOL_CHOICES,
        default=None,
        help="how the head pools each last-layer unit over positions: avg (default) or max",
    )
    p.add_argument("--no-cache", action="store_true", help="render without the disk cache")
    p.add_argument(
        "--finetune-epochs",
        type=int,
        default=0,
        help="after the head refit, train the conv layers under the frozen head (default 0)",
    )
    p.add_argument("--finetune-lr", type=finite_float, default=5e-4, help="its peak rate (5e-4)")
    p.add_argument(
        "--refit-head",
        action="store_true",
        help="only refit the head of the bundle's classifier (L1 + dropout; with "
        "--finetune-epochs also fine-tune its conv layers), then evaluate",
    )
    p.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from ganpaint.classify.card import refit_bundle, train_bundle
    from ganpaint.classify.data import DEFAULT_CACHE
    from ganpaint.classify.train import TrainSettings
    from ganpaint.core.errors import GanpaintError
    from ganpaint.core.progress import bar_factory

    for name, least in (
        ("scenes", 64),
        ("epochs", 1),
        ("batch", 2),
        ("heldout", 10),
        ("head_units", 0),
        ("refit_scenes", 10),
    ):
        if getattr(args, name) < least:
            raise GanpaintError(f"--{name.replace('_', '-')} must be at least {least}")
    if args.scenes < args.batch:
        raise GanpaintError("--scenes must be at least --batch")
    if not 0 < args.lr < 1 or args.head_l1 < 0 or args.gan < 0 or not 0 <= args.dropout < 1:
        raise GanpaintError("--lr and --dropout must be in (0, 1); --head-l1, --gan >= 0")
    if args.finetune_epochs < 0 or not 0 < args.finetune_lr < 1:
        raise GanpaintError("--finetune-epochs must be >= 0 and --finetune-lr in (0, 1)")
    widths, pool = _architecture(args)
    settings = TrainSettings(
        widths=widths,
        pool=pool,
        n_train=args.scenes,
        epochs=args.epochs,
        batch=args.batch,
        lr=args.lr,
        head_l1=args.head_l1,
        dropout=args.dropout,
        n_heldout=args.heldout,
        n_gan=args.gan,
        finetune_epochs=args.finetune_epochs,
        finetune_lr=args.finetune_lr,
        precision=args.precision,
        head_units=args.head_units,
        refit_scenes=args.refit_scenes,
    )
    cache = None if args.no_cache else DEFAULT_CACHE
    writable_bundle(args.bundle, "classifier.safetensors")
    if args.refit_head:
        card = refit_bundle(
            args.bundle, settings, args.device, cache=cache, progress=bar_factory(), log=_log
        )
    else:
        card = train_bundle(
            args.bundle, settings, args.device, cache=cache, progress=bar_factory(), log=_log
        )
    print(json.dumps({k: card[k] for k in _CARD_KEYS if k in card}, indent=1))
    return 0


_CARD_KEYS = ("heldout_accuracy", "heldout_recall", "gan_agreement", "train_seconds", "device")


def _architecture(args: argparse.Namespace) -> tuple[tuple[int | str, ...], str]:
    """The widths and pooling ``classifier train`` builds; a named error for bad ones."""
    from ganpaint.core.errors import GanpaintError
    from ganpaint.models.classifier import DEFAULT_WIDTHS, parse_widths

    if args.refit_head and (args.widths is not None or args.pool is not None):
        flag = "--widths" if args.widths is not None else "--pool"
        raise GanpaintError(f"{flag} cannot change the bundle's classifier in --refit-head")
    pool = args.pool or "avg"
    if args.widths is None:
        return DEFAULT_WIDTHS, pool
    try:
        return parse_widths(args.widths), pool
    except ValueError as exc:
        raise GanpaintError(f"--widths: {exc}") from None


def _add_dissect(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser(
        "dissect",
        help="label every conv layer's units with the world's concepts",
        description="Dissect every conv layer of the bundle's classifier against the exact "
        "labels of training scenes: per unit the concept with the best IoU at the fixed "
        "top-1 % threshold and at the unit's best quantile level (labelled when IoU > 0.04). "
        "Writes the layers of classifier_dissection.json (its ablation is kept).",
    )
    p.add_argument("bundle", nargs="?", default=None, help=BUNDLE_HELP)
    p.add_argument("--scenes", type=int, default=1000, help="training scenes (default 1000)")
    p.add_argument("--grid", type=int, default=128, help="label resolution counted (128)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: best)")
    p.set_defaults(handler=_dissect)


def _dissect(args: argparse.Namespace) -> int:
    from ganpaint.classify.bundle_runs import dissect_bundle
    from ganpaint.core.errors import GanpaintError
    from ganpaint.core.progress import bar_factory

    if args.scenes < 10 or not 8 <= args.grid <= 512:
        raise GanpaintError("--scenes must be at least 10 and --grid in 8..512")
    writable_bundle(args.bundle, "the classifier's dissection")
    doc = dissect_bundle(args.bundle, args.scenes, args.device, args.grid, bar_factory())
    for layer in doc.layers:
        print(
            f"{layer.name}: {layer.count} units, labelled {layer.labelled_fraction():.2f} "
            f"at best level ({len(layer.concepts_detected())} concepts), "
            f"{layer.labelled_fraction(fixed=True):.2f} at top 1 %"
        )
    return 0


def _add_ablate(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser(
        "ablate",
        help="rank the last layer's units per class and remove or keep the top k",
        description="Per class, rank the last conv layer's units by the drop in that "
        "class's balanced accuracy when each alone is zeroed (training scenes); then on "
        "held-out scenes remove each class's top k units, or keep only them. Writes the "
        "ablation of classifier_dissection.json (its layers are kept).",
    )
    p.add_argument("bundle", nargs="?", default=None, help=BUNDLE_HELP)
    p.add_argument(
        "--rank-scenes", type=int, default=12000, help="training scenes ranking units (12000)"
    )
    p.add_argument("--heldout", type=int, default=2000, help="held-out scenes (2000)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: best)")
    p.set_defaults(handler=_ablate)


def _ablate(args: argparse.Namespace) -> int:
    from ganpaint.classify.bundle_runs import ablate_bundle
    from ganpaint.core.errors import GanpaintError
    from ganpaint.core.progress import bar_factory

    if args.rank_scenes < 10 or args.heldout < 10:
        raise GanpaintError("--rank-scenes and --heldout must be at least 10")
    writable_bundle(args.bundle, "the ablation")
    doc = ablate_bundle(args.bundle, args.rank_scenes, args.heldout, args.device, bar_factory())
    ab = doc.ablation
    for i, c in enumerate(ab.classes):
        base = ab.baseline[i]
        row = "  ".join(
            f"k={k}: {c.remove[j][i] - base:+.1f}/keep {c.keep[j][i] - base:+.1f}"
            for j, k in enumerate(ab.ks)
            if k in (1, 5, 20, 40)
        )
        print(f"{c.name:10s} base {ab.baseline[i]:.1f}  {row}")
    if 20 in ab.ks:
        print(json.dumps({k: round(v, 2) for k, v in ab.figures(20).items()}))
    return 0


def _add_summary(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser(
        "summary",
        help="print the classifier's figures (accuracy, dissection, ablation, attacks)",
        description="The figures the other classifier commands stored in the bundle; null "
        "where a part is missing.",
    )
    p.add_argument("bundle", nargs="?", default=None, help=BUNDLE_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_summary)


def _summary(args: argparse.Namespace) -> int:
    from ganpaint.classify.summary import classifier_summary, summary_text

    s = classifier_summary(args.bundle)
    print(json.dumps(s) if args.json else summary_text(s))
    return 0


def _add_attack(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser(
        "attack",
        help="targeted attacks between every ordered pair of classes, read through the units",
        description="Collect --per-pair held-out scenes per class that the classifier gets "
        "right and attack each towards every other class (a minimal-L2 PGD in the style of "
        "DDN; every step sees the uint8-quantised picture). Measures the success rate, the L2 "
        "of the perturbations ([0, 1] pixel units over all values) and, per attack, the mean "
        "|change of the spatial-max activation| of the target class's 4 most important units "
        "of the last unit layer, the source class's 4 and all the others, with 99 % "
        "intervals over attacks. Writes classifier_attack.json into the bundle. --split "
        "train attacks training scenes instead, to choose the settings (not written).",
    )
    p.add_argument("bundle", nargs="?", default=None, help=BUNDLE_HELP)
    p.add_argument(
        "--per-pair",
        type=int,
        default=3,
        help="scenes per class, each attacked towards every other class (default 3: "
        "3 x classes x (classes - 1) attacks, 60 with 5 classes)",
    )
    p.add_argument("--split", choices=("held-out", "train"), default="held-out")
    p.add_argument("--first-seed", type=int, default=None, help="first held-out seed")
    p.add_argument("--steps", type=int, default=None, help="gradient steps per attack")
    p.add_argument("--alpha", type=finite_float, default=None, help="first L2 step size")
    p.add_argument("--gamma", type=finite_float, default=None, help="L2 budget change per step")
    p.add_argument("--init-eps", type=finite_float, default=None, help="first L2 budget")
    p.add_argument("--no-write", action="store_true", help="only print; leave the bundle")
    p.add_argument("--json", action="store_true", help="print the whole document as JSON")
    p.set_defaults(handler=_attack)


def _attack(args: argparse.Namespace) -> int:
    from ganpaint.classify.attack import AttackSettings
    from ganpaint.classify.attack_bundle import attack_bundle
    from ganpaint.classify.attack_file import attack_text
    from ganpaint.core.progress import bar_factory

    given = {"steps": args.steps, "alpha": args.alpha, "gamma": args.gamma}
    given["init_eps"] = args.init_eps
    settings = AttackSettings(**{k: v for k, v in given.items() if v is not None})
    writable_bundle(args.bundle, "the attacks")
    doc = attack_bundle(
        args.bundle,
        per_pair=args.per_pair,
        split=args.split,
        first_seed=args.first_seed,
        settings=settings,
        write=not args.no_write and args.split == "held-out",
        progress=bar_factory(),
    )
    print(json.dumps(doc, indent=1) if args.json else attack_text(doc))
    return 0


def _add_report(subs: argparse._SubParsersAction) -> None:
    p = subs.add_parser(
        "report",
        help="write an HTML page of the classifier: card, dissection, ablation, attacks",
        description="One page (index.html and its PNGs) with whatever the bundle has: the "
        "classifier's card, labelled units by layer, each class's most important units with "
        "the held-out scenes where they fire, the ablation curves, and the attack figures "
        "with example attacks re-run from classifier_attack.json. Says which parts are "
        "missing and which command makes them.",
    )
    p.add_argument("bundle", nargs="?", default=None, help=BUNDLE_HELP)
    p.add_argument("-o", "--out", required=True, help="output folder")
    p.add_argument("--examples", type=int, default=5, help="attacks re-run for pictures (5)")
    p.add_argument("--scenes", type=int, default=200, help="scenes searched per unit (200)")
    p.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from ganpaint.classify.report import write_classifier_report
    from ganpaint.core.errors import GanpaintError
    from ganpaint.core.progress import bar_factory

    if args.examples < 0 or args.scenes < 0:
        raise GanpaintError("--examples and --scenes must be 0 or more")
    writable_folder(args.out, "-o")
    index, missing = write_classifier_report(
        args.bundle, args.out, args.examples, args.scenes, bar_factory()
    )
    for what in missing:
        _log(f"missing: {what}")
    print(index)
    return 0
