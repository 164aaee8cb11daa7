"""What only the trainer knows, filled into the config before ESPnet starts.

A supernet schedule (``model: layerprune``) gets ``accum_grad`` and the number of updates of the
whole training (``total_steps``), from which ``stage1_fraction`` becomes ``stage1_steps``;
``scheduler: tristagelr`` gets ``max_steps`` the same way when the config leaves it out. ESPnet
then saves the filled-in values in ``config.yaml``.
"""

import argparse
import logging

from espnet_layerprune.core.errors import InputError


def updates_per_epoch(args: argparse.Namespace) -> int:
    """Optimizer updates of one epoch, as ESPnet's trainer will count them."""
    if args.num_iters_per_epoch:
        batches = args.num_iters_per_epoch
    else:
        from espnet2.samplers.build_batch_sampler import build_batch_sampler

        batches = len(build_batch_sampler(
            type=args.batch_type, batch_size=args.batch_size, batch_bins=args.batch_bins,
            shape_files=args.train_shape_file, sort_in_batch=args.sort_in_batch,
            sort_batch=args.sort_batch, drop_last=args.drop_last_iter,
            min_batch_size=args.min_batch_size, fold_lengths=args.fold_length,
        ))
    return max(1, batches // args.accum_grad)


def fill_supernet_schedule(args: argparse.Namespace) -> None:
    """Fill ``model_conf.supernet.accum_grad`` and ``total_steps`` from the trainer's
    options (refusing an ``accum_grad`` that disagrees: it would stretch or shrink
    every schedule)."""
    if args.model != "layerprune":
        return
    supernet = dict((args.model_conf or {}).get("supernet") or {})
    given = supernet.get("accum_grad")
    if given is not None and given != args.accum_grad:
        raise InputError(
            f"model_conf.supernet.accum_grad ({given}) differs from the trainer's accum_grad "
            f"({args.accum_grad}); remove it from model_conf.supernet (it is filled in) or make "
            "them equal"
        )
    supernet["accum_grad"] = args.accum_grad
    if supernet.get("total_steps") is None and not args.collect_stats and args.train_shape_file:
        supernet["total_steps"] = args.max_epoch * updates_per_epoch(args)
        logging.info(
            "supernet schedule: %d updates in all (max_epoch %d x %d updates per epoch)",
            supernet["total_steps"], args.max_epoch, supernet["total_steps"] // args.max_epoch,
        )
    if args.collect_stats and supernet.get("stage1_fraction") is not None:
        supernet.setdefault("total_steps", 1_000_000)  # the schedule is not run here
    args.model_conf = {**(args.model_conf or {}), "supernet": supernet}


def fill_scheduler_length(args: argparse.Namespace) -> None:
    """``scheduler: tristagelr`` without ``scheduler_conf.max_steps``: the whole training's
    updates (ESPnet's default, 25000, would silently stretch or cut the schedule)."""
    if args.scheduler != "tristagelr" or args.collect_stats or not args.train_shape_file:
        return
    conf = dict(args.scheduler_conf or {})
    if conf.get("max_steps") is None:
        conf["max_steps"] = args.max_epoch * updates_per_epoch(args)
        logging.info("scheduler tristagelr: max_steps %d (max_epoch %d x %d updates per epoch)",
                     conf["max_steps"], args.max_epoch, conf["max_steps"] // args.max_epoch)
    args.scheduler_conf = conf
