"""`course train classifier --dataset NAME`: train (or reload) the course classifier whose features give FD / KID.

A short fit (at most 5,000 steps) cached under runs/classifiers/ by dataset and steps: a second run with the same
settings loads it instead of training again (`--retrain` trains anyway). It is not a resumable long run.
"""

from __future__ import annotations

from ..features import classifier_path, classifier_steps, course_classifier
from . import options


def main(argv: list[str] | None = None) -> int:
    p = options.parser("classifier", __doc__.split("\n\n")[0], steps_help="the scale's, at most 5,000",
                       run_dir="unused: the classifier is cached in <runs>/classifiers/")
    p.add_argument("--dataset", default="mnist", help="mnist, fashion-mnist, cifar10")
    p.add_argument("--retrain", action="store_true", help="train even when a cached classifier exists")
    args = p.parse_args(argv)
    r = options.start(args, "classifiers")
    net = course_classifier(args.dataset, device=r.device, steps=args.steps, retrain=args.retrain)
    print(f"{args.dataset}: test accuracy {100 * net.test_accuracy:.2f}%  "
          f"({classifier_path(args.dataset, args.steps or classifier_steps())})")
    return 0
