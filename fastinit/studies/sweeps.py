"""Sweeps: many trainings over a grid of configurations, with statistics.

One training is an anecdote; :func:`sweep` runs a grid (or a list) of
configurations over initializer, seed, learning rate, optimizer (with its
momentum and weight decay), hidden layer sizes, activation, dataset,
iterations and dtype, and returns a :class:`SweepTable`:
one record per configuration (final cost, train and test accuracy, the
iteration at which the cost first fell below a threshold, divergence, wall
time and the recorded cost curve), with :meth:`SweepTable.summary` grouping by
any columns.

Where the trainings run:

* locally: configurations that train the same network on the same data for
  as long (whatever their initializer, seed, learning rate and optimizer)
  are trained together by the batched kernel
  (:func:`fastinit.training.train_models`), ``n_threads`` models at a time,
  each on its own thread with the GIL released;
* on a ``dask.distributed`` cluster when a ``client`` is given: the
  configurations are cut into chunks that the cluster's workers run, and the
  records are gathered into the same table (identical to a local run but for
  the wall times).

With ``results="file.jsonl"`` every finished record is appended to a JSON-lines
file at once (flushed and synced); a sweep started again with the same file
skips the configurations already there, so an interrupted sweep loses nothing
that had finished and duplicates nothing.  A configuration's key holds its
optimizer columns unless they are plain gradient descent's (sgd without
momentum or weight decay): files written before optimizers were a column
resume, their records read as optimizer "sgd".
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import itertools
import json
import math
import numbers
import os
import statistics
import threading
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]  # checked before every use (_locked)

from .._validation import (
    check_choice,
    check_count,
    check_n_threads,
    check_positive_float,
    check_real,
    check_seed,
    output_units,
    resolve_dtype,
)
from .._progress import terminal_progress
from ..io.datasets import NAMED_DATASETS, load_named
from ..nn.optimizers import OPTIMIZERS, SCHEDULES, Optimizer, Schedule, get_optimizer
from ..training.loop import train_models

# The columns a configuration has, with the seed notebook's experiment as the
# default of each.
DEFAULTS: dict[str, Any] = {
    "init": "he",
    "seed": 3,
    "learning_rate": 0.01,
    "optimizer": "sgd",     # a name of fastinit.nn.optimizers.OPTIMIZERS; sgd: plain gradient descent
    "momentum": None,       # None: the optimizer's default (0); sgd and rmsprop only
    "weight_decay": None,   # None: the optimizer's default (0; 0.01 for adamw)
    "layers": [10, 5],
    "activation": "relu",
    "dataset": "circles",
    "num_iterations": 15000,
    "dtype": "float64",
}
METRICS = ("final_cost", "train_accuracy", "test_accuracy", "converged_at", "wall_time")


#: the optimizer columns, and their values in a configuration of plain
#: gradient descent (the only update before optimizers existed): a key leaves
#: them out for such a configuration, so results files written before keep
#: their keys (and their records, which have no such columns, mean these)
OPTIMIZER_COLUMNS = ("optimizer", "momentum", "weight_decay")
PLAIN_GD = {"optimizer": "sgd", "momentum": 0.0, "weight_decay": 0.0}
#: the optimizers that have a momentum (sweeps' ``momentum`` column)
WITH_MOMENTUM = tuple(name for name, cls in OPTIMIZERS.items()
                      if "momentum" in {f.name for f in dataclasses.fields(cls)})


def _normalise_optimizer(out: dict[str, Any], lenient: bool = False) -> None:
    """Check and normalise the optimizer columns of ``out`` in place:
    ``momentum`` a float for the optimizers that have one (None: their
    default) and None for the others, ``weight_decay`` a float (None: the
    optimizer's default).  A momentum other than 0 for an optimizer without
    one is an error, unless ``lenient`` (a grid crossing momentum values with
    several optimizers): it is then dropped, and the combinations collapse."""
    name = out["optimizer"]
    if isinstance(name, Optimizer):
        raise TypeError(f"sweeps take optimizer by name (records are JSON), got {name!r}; "
                        f"sweep its momentum and weight_decay as columns")
    if not isinstance(name, str):
        raise TypeError(f"sweeps take optimizer by name (records are JSON), got {name!r}")
    check_choice(name, "optimizer", list(OPTIMIZERS))
    defaults = OPTIMIZERS[name]()
    momentum = out["momentum"]
    if momentum is not None:
        momentum = check_real(momentum, "momentum", minimum=0.0)
        if momentum >= 1:
            raise ValueError(f"momentum must be a finite number in [0, 1), got {momentum}")
    if name in WITH_MOMENTUM:
        out["momentum"] = float(getattr(defaults, "momentum")) if momentum is None else momentum
    elif momentum in (None, 0.0) or lenient:
        out["momentum"] = None  # not applicable
    else:
        raise ValueError(f"optimizer {name!r} has no momentum (momentum applies to "
                         f"{', '.join(WITH_MOMENTUM)}), got momentum={momentum}")
    decay = out["weight_decay"]
    out["weight_decay"] = (float(defaults.weight_decay) if decay is None
                           else check_real(decay, "weight_decay", minimum=0.0))


def optimizer_of(config: Mapping[str, Any]) -> Optimizer:
    """The optimizer object of a normalised configuration (its ``lr`` unset:
    the configuration's ``learning_rate``)."""
    options: dict[str, Any] = {"weight_decay": config["weight_decay"]}
    if config["momentum"] is not None:
        options["momentum"] = config["momentum"]
    return get_optimizer(config["optimizer"], options)


def _normalise(config: Mapping[str, Any], lenient: bool = False) -> dict[str, Any]:
    """A complete configuration: defaults filled in, every value checked and
    converted to a plain JSON type (so that, e.g., seed ``np.int64(3)`` and
    ``3``, or learning rate ``1`` and ``1.0``, are the same configuration).
    ``lenient``: see :func:`_normalise_optimizer`."""
    if not isinstance(config, Mapping):
        raise TypeError(f"a configuration must be a mapping of parameter names to values, "
                        f"got {type(config).__name__}")
    unknown = set(config) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown sweep parameter(s) {sorted(unknown)}; "
                         f"known: {sorted(DEFAULTS)}")
    out = {**DEFAULTS, **config}
    layers = out["layers"]
    if isinstance(layers, numbers.Integral) and not isinstance(layers, bool):
        layers = [layers]
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Iterable):
        raise TypeError(f"layers must be a sequence of hidden layer sizes, got {layers!r}")
    out["layers"] = [check_count(n, "layers[i]", minimum=1) for n in layers]
    for name in ("init", "activation", "dataset"):
        if not isinstance(out[name], str):
            raise TypeError(f"sweeps take {name} by name (records are JSON), got {out[name]!r}")
    check_choice(out["dataset"], "dataset", sorted(NAMED_DATASETS))
    out["seed"] = check_seed(out["seed"])
    out["learning_rate"] = check_positive_float(out["learning_rate"], "learning_rate")
    out["num_iterations"] = check_count(out["num_iterations"], "num_iterations")
    out["dtype"] = resolve_dtype(out["dtype"]).name
    _normalise_optimizer(out, lenient)
    return out


#: most configurations one sweep accepts (a grid is counted before it is built)
MAX_CONFIGS = 10**6


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the values of ``grid`` (a mapping of parameter name
    to a list of values), in a fixed order: the last parameter of
    :data:`DEFAULTS` varies fastest.  Parameters not in ``grid`` take their
    default.  At most :data:`MAX_CONFIGS` combinations: larger grids (and
    endless iterables) are refused before anything is built.

    ``momentum`` applies to the optimizers of :data:`WITH_MOMENTUM` (sgd,
    rmsprop): crossed with other optimizers too, their combinations get
    momentum None and collapse into one configuration each (which a sweep
    runs once)."""
    if not isinstance(grid, Mapping):
        raise TypeError(f"grid must be a mapping of parameter names to lists of values, "
                        f"got {type(grid).__name__}")
    lists = {}
    for name, values in grid.items():
        if not isinstance(name, str):
            raise TypeError(f"grid keys must be parameter names (str), got {name!r}")
        if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
            raise TypeError(f"grid[{name!r}] must be a list of values, got {values!r}")
        lists[name] = list(itertools.islice(values, MAX_CONFIGS + 1))
        if len(lists[name]) > MAX_CONFIGS:
            raise ValueError(f"grid[{name!r}] has more than {MAX_CONFIGS} values")
    names = [n for n in DEFAULTS if n in grid] + [n for n in grid if n not in DEFAULTS]
    count = math.prod(len(lists[n]) for n in names)
    if count > MAX_CONFIGS:
        raise ValueError(f"grid has {count} combinations, more than the {MAX_CONFIGS} a sweep "
                         "accepts: split it into several sweeps")
    optimizers = lists.get("optimizer", [DEFAULTS["optimizer"]])
    lenient = "momentum" in lists and any(isinstance(o, str) and o in WITH_MOMENTUM
                                          for o in optimizers)
    return [_normalise(dict(zip(names, combo)), lenient)
            for combo in itertools.product(*(lists[n] for n in names))]


def config_key(config: Mapping[str, Any]) -> str:
    """The identity of a configuration in a results file: canonical JSON of
    its columns, less the optimizer columns when they are those of plain
    gradient descent (:data:`PLAIN_GD`): such keys are what they were before
    optimizers were a column, so older results files resume."""
    plain = all(config[k] == v for k, v in PLAIN_GD.items())
    return json.dumps({k: config[k] for k in DEFAULTS
                       if not (plain and k in OPTIMIZER_COLUMNS)}, sort_keys=True)


def schedule_spec(schedule: Any) -> dict[str, Any]:
    """A learning-rate schedule as JSON (what records hold):
    ``{"name": ..., **hyper-parameters}``, from None (constant), a name of
    :data:`fastinit.nn.optimizers.SCHEDULES` (its default hyper-parameters), a
    :class:`~fastinit.nn.optimizers.Schedule` object or such a mapping."""
    if schedule is None:
        schedule = "constant"
    if isinstance(schedule, Mapping):
        options = dict(schedule)
        name = options.pop("name", None)
        if not isinstance(name, str) or name not in SCHEDULES:
            raise ValueError(f"schedule must name one of {list(SCHEDULES)} (a mapping's "
                             f"\"name\"), got {name!r}")
        try:
            schedule = SCHEDULES[name](**options)
        except TypeError as exc:
            raise TypeError(f"schedule {name!r}: {exc}") from None
    elif isinstance(schedule, str):
        check_choice(schedule, "schedule", list(SCHEDULES))
        schedule = SCHEDULES[schedule]()
    elif not isinstance(schedule, Schedule) or SCHEDULES.get(schedule.name) is not type(schedule):
        raise TypeError(f"schedule must be a name of {list(SCHEDULES)}, a Schedule object of "
                        f"theirs or a mapping with its \"name\", got {schedule!r}")
    spec: dict[str, Any] = {"name": schedule.name}
    for f in dataclasses.fields(schedule):
        value = getattr(schedule, f.name)
        spec[f.name] = int(value) if f.type in ("int", int) else float(value)
    return spec


def _schedule_of(spec: Mapping[str, Any]) -> Schedule:
    options = dict(spec)
    return SCHEDULES[options.pop("name")](**options)


def _shared(schedule: Any, l2: Any, clip_norm: Any, keep_prob: Any = None) -> dict[str, Any]:
    """The settings every training of a sweep shares, checked, as JSON:
    ``schedule`` (see :func:`schedule_spec`), ``l2``, ``clip_norm`` and
    ``keep_prob`` (see :func:`_keep_prob`)."""
    l2 = check_real(l2, "l2", minimum=0.0)
    if clip_norm is not None:
        clip_norm = check_positive_float(clip_norm, "clip_norm")
    return {"schedule": schedule_spec(schedule), "l2": l2, "clip_norm": clip_norm,
            "keep_prob": _keep_prob(keep_prob)}


def _keep_prob(keep_prob: Any) -> float | None:
    """A sweep's dropout: one keep probability in (0, 1] for every hidden
    layer (the networks of a grid differ in depth, so a list of one per
    layer is refused), or None without dropout; 1 is no dropout, None."""
    if keep_prob is None:
        return None
    if isinstance(keep_prob, (str, bytes)) or not isinstance(keep_prob, numbers.Real) \
            or isinstance(keep_prob, bool):
        kind = ("a list" if isinstance(keep_prob, (list, tuple, np.ndarray))
                else type(keep_prob).__name__)
        raise TypeError(f"keep_prob of a sweep must be one number in (0, 1] for every hidden "
                        f"layer (its networks may differ in depth: no list of one per layer), "
                        f"got {kind}")
    value = check_real(keep_prob, "keep_prob")
    if not 0 < value <= 1:
        raise ValueError(f"keep_prob must be a finite number in (0, 1] (the probability of "
                         f"keeping each hidden unit), got {value}")
    return None if value == 1 else value


#: the shared settings of sweeps that had none (plain gradient descent)
SHARED_DEFAULTS: dict[str, Any] = {"schedule": {"name": "constant"}, "l2": 0.0, "clip_norm": None,
                                   "keep_prob": None}


@functools.lru_cache(maxsize=16)
def _data(name: str):
    return load_named(name)


def _group(config: Mapping[str, Any]) -> tuple:
    """Configurations of one group train the same network shape on the same
    data for as long: the batched kernel trains them together."""
    return (config["dataset"], tuple(config["layers"]), config["activation"], config["dtype"],
            config["num_iterations"])


def run_batch(configs: Sequence[Mapping[str, Any]], cost_threshold: float = 0.2,
              record_every: int = 1000, n_threads: int = 1, *, schedule: Any = None,
              l2: float = 0.0, clip_norm: float | None = None,
              keep_prob: float | None = None) -> list[dict[str, Any]]:
    """Records of configurations of one group (same dataset, layers,
    activation, dtype and iterations; any initializers, seeds, learning rates
    and optimizers), trained together by one call of
    :func:`fastinit.training.train_models` on up to ``n_threads`` threads,
    with the shared ``schedule``, ``l2``, ``clip_norm`` and ``keep_prob``;
    the unit of work of local sweeps and of Dask workers."""
    configs = [_normalise(c) for c in configs]
    if len({_group(c) for c in configs}) > 1:
        raise ValueError("run_batch takes configurations of one group only")
    shared = _shared(schedule, l2, clip_norm, keep_prob)
    first = configs[0]
    train_X, train_Y, test_X, test_Y = _data(first["dataset"])
    dims = [train_X.shape[0], *first["layers"], output_units(train_Y)]
    results = train_models(train_X, train_Y, dims,
                           [(c["init"], c["seed"], c["learning_rate"], optimizer_of(c))
                            for c in configs],
                           num_iterations=first["num_iterations"], dtype=first["dtype"],
                           record_every=record_every, activation=first["activation"],
                           n_threads=n_threads, schedule=_schedule_of(shared["schedule"]),
                           l2=shared["l2"], clip_norm=shared["clip_norm"],
                           keep_prob=shared["keep_prob"])
    records = []
    for config, result in zip(configs, results):
        records.append({
            "key": config_key(config),
            **config,
            **shared,
            "schedule": dict(shared["schedule"]),  # a record's own
            "final_cost": float(result.final_cost),
            "train_accuracy": _accuracy(result, train_X, train_Y),
            "test_accuracy": _accuracy(result, test_X, test_Y),
            "converged_at": converged_at(result, cost_threshold),
            "diverged": result.status == "diverged",
            "status": result.status,
            "iterations_run": result.iterations_run,
            "wall_time": result.elapsed,
            "cost_iterations": [int(i) for i in result.cost_iterations],
            "costs": [float(c) for c in result.costs],
            "cost_threshold": cost_threshold,
            "record_every": record_every,
            "format": RECORD_FORMAT,
        })
    return records


def _accuracy(result: Any, X: np.ndarray, Y: np.ndarray) -> float:
    """The result's accuracy, or NaN when its (diverged) parameters overflow
    the forward pass: no label is computed from inf or NaN."""
    try:
        return result.accuracy(X, Y)
    except FloatingPointError:
        return math.nan


#: version of the records' meaning: 2 since ``final_cost`` is the cost of the
#: returned parameters (it was the last recorded cost)
RECORD_FORMAT = 2


def converged_at(result: Any, cost_threshold: float) -> int | None:
    """The first recorded iteration whose cost is below ``cost_threshold``;
    else ``result.iterations_run`` when the final cost is below it; else None."""
    for iteration, cost in zip(result.cost_iterations, result.costs):
        if cost < cost_threshold:
            return int(iteration)
    return int(result.iterations_run) if result.final_cost < cost_threshold else None


# ---------------------------------------------------------------------------
# The table of records
# ---------------------------------------------------------------------------

class SweepTable(Sequence):
    """The records of a sweep, in the order of its configurations.

    A sequence of dicts (one per configuration: the configuration's columns
    (:data:`DEFAULTS`: ``optimizer``, ``momentum`` (None for an optimizer
    without one) and ``weight_decay`` among them), the sweep's shared
    ``schedule`` (as :func:`schedule_spec`), ``l2``, ``clip_norm`` and
    ``keep_prob`` (None: no dropout), then
    ``final_cost`` (the cost of the trained parameters on the training
    set, after the last iteration), ``train_accuracy``, ``test_accuracy``,
    ``converged_at`` (first recorded iteration whose cost is below the
    threshold, else the last iteration when the final cost is below it, else
    None: see :func:`converged_at`), ``diverged``, ``status``, ``iterations_run``,
    ``wall_time`` (seconds), ``cost_iterations``, ``costs``, and the
    sweep's ``cost_threshold`` and ``record_every``).
    """

    def __init__(self, records: Sequence[dict[str, Any]], cost_threshold: float):
        self.records = list(records)
        self.cost_threshold = cost_threshold

    def __getitem__(self, index):
        return self.records[index]

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"SweepTable({len(self)} records, cost_threshold={self.cost_threshold})"

    def to_pandas(self):
        """The records as a ``pandas.DataFrame`` (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError("SweepTable.to_pandas needs pandas: pip install pandas") from exc
        return pd.DataFrame(self.records)

    def summary(self, by: Sequence[str] = ("init",),
                metrics: Sequence[str] = METRICS) -> list[dict[str, Any]]:
        """Statistics per group of records sharing the values of the ``by``
        columns (in order of first appearance): ``n``, for each metric its
        ``mean``, ``std`` (sample; 0 for one value), ``min`` and ``max`` over
        the records where it is defined (``converged_at`` is None for runs that
        never got below the threshold), ``success_rate`` (fraction of runs
        whose cost fell below the threshold) and ``diverged_rate``."""
        if isinstance(by, str):
            by = [by]
        if self.records:
            for column in [*by, *metrics]:
                if column not in self.records[0]:
                    raise ValueError(f"no column {column!r} in the sweep records")
        groups: dict[tuple, list[dict[str, Any]]] = {}
        for record in self.records:
            value = tuple(json.dumps(record[c], sort_keys=True)
                          if isinstance(record[c], (list, dict)) else record[c] for c in by)
            groups.setdefault(value, []).append(record)
        rows = []
        for value, members in groups.items():
            row: dict[str, Any] = {c: members[0][c] for c in by}
            row["n"] = len(members)
            for metric in metrics:
                values = [r[metric] for r in members
                          if r[metric] is not None and not _isnan(r[metric])]
                row[f"{metric}_mean"] = statistics.fmean(values) if values else None
                row[f"{metric}_std"] = statistics.stdev(values) if len(values) > 1 else (
                    0.0 if values else None)
                row[f"{metric}_min"] = min(values) if values else None
                row[f"{metric}_max"] = max(values) if values else None
            row["success_rate"] = sum(r["converged_at"] is not None for r in members) / len(members)
            row["diverged_rate"] = sum(bool(r["diverged"]) for r in members) / len(members)
            rows.append(row)
        return rows

    def describe(self) -> str:
        """What ran, in a line or two: the number of trainings, the values of
        each parameter that varied and the one value of each that did not."""
        varied, fixed = [], []
        for column in [*DEFAULTS, *SHARED_DEFAULTS]:
            values = list({json.dumps(r[column], sort_keys=True): r[column]
                           for r in self.records if column in r}.values())
            if column == "momentum":  # None: an optimizer without momentum
                values = [v for v in values if v is not None]
            if not values:
                continue
            if len(values) == 1:
                value = values[0]
                if column in _LATER_FIELDS and value in (None, _LATER_FIELDS[column]):
                    continue  # plain gradient descent's value (or not applicable): left unsaid
                fixed.append(f"{column} {schedule_text(value) if column == 'schedule' else value}")
            else:
                texts = [schedule_text(v) for v in values] if column == "schedule" else values
                varied.append(f"{column} {_values_text(texts)} ({len(values)})")
        n = len(self)
        head = f"{n} training{'s' if n != 1 else ''}"
        if varied:
            head += ": " + " x ".join(varied)
        return head + ("\n" + ", ".join(fixed) if fixed else "")

    def format_summary(self, by: Sequence[str] = ("init",)) -> str:
        """The summary as an aligned text table, headed by :meth:`describe`
        (the command line prints it)."""
        if isinstance(by, str):
            by = [by]
        rows = self.summary(by)
        head = [*by, "n", "train acc", "test acc", "final cost",
                f"success (cost<{self.cost_threshold:g})", "converged at", "diverged"]
        lines = []
        for row in rows:
            lines.append([
                *(str(row[c]) for c in by), str(row["n"]),
                _mean_std(row, "train_accuracy", "{:.1%}"),
                _mean_std(row, "test_accuracy", "{:.1%}"),
                _mean_std(row, "final_cost", "{:.4f}"),
                f"{row['success_rate']:.0%}",
                _mean_std(row, "converged_at", "{:.0f}"),
                f"{row['diverged_rate']:.0%}",
            ])
        widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
                  for i, h in enumerate(head)]
        out = [self.describe(), "",
               "  ".join(h.ljust(w) for h, w in zip(head, widths)),
               "  ".join("-" * w for w in widths)]
        out += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
        return "\n".join(out)


def _values_text(values: list[Any]) -> str:
    """``0 .. 99`` for a run of consecutive integers, else the values (the
    first few of many)."""
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values) and len(values) > 3:
        ordered = sorted(values)
        if ordered == list(range(ordered[0], ordered[-1] + 1)):
            return f"{ordered[0]} .. {ordered[-1]}"
    texts = [str(v) for v in values]
    sep = "; " if any(isinstance(v, list) for v in values) else ", "
    return sep.join(texts) if len(texts) <= 8 else sep.join(texts[:6]) + sep + "..."


def schedule_text(spec: Mapping[str, Any]) -> str:
    """``cosine(t_max=1500, eta_min=0)``; ``constant``."""
    options = ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v!r}"
                        for k, v in spec.items() if k != "name")
    return f"{spec.get('name')}({options})" if options else str(spec.get("name"))


def _settings_text(shared: Mapping[str, Any]) -> str:
    schedule = shared["schedule"]
    return (f"schedule={schedule_text(schedule) if isinstance(schedule, Mapping) else schedule}"
            f", l2={shared['l2']}, clip_norm={shared['clip_norm']}"
            f", keep_prob={shared['keep_prob']}")


def _isnan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _mean_std(row: dict[str, Any], metric: str, fmt: str) -> str:
    mean, std = row[f"{metric}_mean"], row[f"{metric}_std"]
    if mean is None:
        return "-"
    return f"{fmt.format(mean)} ± {fmt.format(std)}"


# ---------------------------------------------------------------------------
# The results file
# ---------------------------------------------------------------------------

class _ResultsFile:
    """Append-only JSON-lines file of records, one line per finished
    configuration, written and synced at once under an advisory lock (two
    sweeps on one file neither duplicate nor interleave records: a record
    whose configuration another writer has appended meanwhile is not written
    again).  Opening refuses, and leaves byte for byte, a file that holds
    anything but this library's records; the one repair it makes is to drop
    a last line cut short by a kill during an append (a line that starts as
    this library's records start and has no newline yet)."""

    def __init__(self, path: str | os.PathLike):
        try:
            self.path = os.fspath(path)
        except TypeError as exc:
            raise TypeError(f"results must be a file path, got {path!r}") from exc
        if os.path.isdir(self.path):
            raise ValueError(f"results {self.path!r} is a directory; give a file name")
        if os.path.exists(self.path) and not os.path.isfile(self.path):
            raise ValueError(f"results {self.path!r} is not a regular file")
        self.lock = threading.Lock()
        self.done: dict[str, dict[str, Any]] = {}
        self.offset = 0  # bytes of the file read into ``done``
        if os.path.exists(self.path):
            with open(self.path, "r+b") as f, _locked(f):
                self._read_new(f)

    def _read_new(self, f) -> None:
        """Read the records appended since ``offset`` (the file is locked)."""
        f.seek(self.offset)
        data = f.read(MAX_RESULTS_BYTES + 1)
        if len(data) > MAX_RESULTS_BYTES:
            raise ValueError(f"results {self.path!r} is larger than {MAX_RESULTS_BYTES} bytes")
        complete = data[:data.rfind(b"\n") + 1]
        records = [_parse_record(line, self.path, number)
                   for number, line in enumerate(complete.splitlines(), start=1) if line.strip()]
        tail = data[len(complete):]
        if tail and not (RECORD_START.startswith(tail[:len(RECORD_START)])
                         or tail.startswith(RECORD_START)):
            raise ValueError(f"results {self.path!r} ends with data that is not a sweep record "
                             f"({tail[:40]!r}); refusing to change it")
        for record in records:
            self.done.setdefault(record["key"], record)
        self.offset += len(complete)
        if tail:  # a record cut short by a kill: ours, so it may be dropped
            f.truncate(self.offset)

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record) + "\n").encode("utf-8")
        with self.lock:
            with open(self.path, "a+b") as f, _locked(f):
                self._read_new(f)  # what other writers appended meanwhile
                if record["key"] in self.done:
                    return
                f.seek(0, os.SEEK_END)
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
                self.offset += len(line)
            self.done[record["key"]] = record


#: how every record line starts (``json.dumps`` of a record: "key" comes first)
RECORD_START = b'{"key": "'
#: largest results file read (records are ~1 KiB: millions of records)
MAX_RESULTS_BYTES = 2**31

#: the fields of a record and the types their values must have
_RECORD_TYPES: dict[str, type | tuple[type, ...]] = {
    "key": str, "init": str, "seed": (int, type(None)), "learning_rate": (int, float),
    "optimizer": str, "momentum": (int, float, type(None)), "weight_decay": (int, float),
    "layers": list, "activation": str, "dataset": str, "num_iterations": int, "dtype": str,
    "final_cost": (int, float), "train_accuracy": (int, float), "test_accuracy": (int, float),
    "converged_at": (int, type(None)), "diverged": bool, "status": str,
    "iterations_run": int, "wall_time": (int, float), "cost_iterations": list, "costs": list,
    "cost_threshold": (int, float), "record_every": int, "format": int,
    "schedule": dict, "l2": (int, float), "clip_norm": (int, float, type(None)),
    "keep_prob": (int, float, type(None)),
}
#: the fields records written before optimizers (and dropout) did not have,
#: with the values they meant (plain gradient descent, no dropout)
_LATER_FIELDS: dict[str, Any] = {**PLAIN_GD, **SHARED_DEFAULTS}


def _parse_record(line: bytes, path: str, number: int) -> dict[str, Any]:
    """One line of a results file as a record, or a ValueError naming the line."""
    where = f"{path}:{number}"
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{where}: not a sweep record (not JSON: {str(exc)[:80]})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{where}: not a sweep record (a JSON {type(record).__name__})")
    for field, types in _RECORD_TYPES.items():
        if field == "format" and field not in record:  # written before formats: refused later
            continue
        if field in _LATER_FIELDS and field not in record:  # written before optimizers
            record[field] = copy.deepcopy(_LATER_FIELDS[field])
        if field not in record:
            raise ValueError(f"{where}: not a sweep record (no {field!r})")
        value = record[field]
        if not isinstance(value, types) or (isinstance(value, bool) and types is not bool):
            raise ValueError(f"{where}: field {field!r} has a value of type "
                             f"{type(value).__name__}")
    for field, types in (("costs", (int, float)), ("cost_iterations", int)):
        if not all(isinstance(v, types) and not isinstance(v, bool) for v in record[field]):
            raise ValueError(f"{where}: field {field!r} holds values that are not numbers")
    every = record["record_every"]
    if every < 1 or record["cost_iterations"] != list(range(0, every * len(record["costs"]), every)):
        raise ValueError(f"{where}: cost_iterations do not match the costs and record_every")
    if record.get("format") == RECORD_FORMAT:
        try:
            config = _normalise({k: record[k] for k in DEFAULTS})
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: the record's configuration is invalid: {exc}") from None
        if config_key(config) != record["key"]:
            raise ValueError(f"{where}: the record's key does not match its configuration")
    return record


@contextlib.contextmanager
def _locked(f):
    """An exclusive advisory lock on an open file (where the OS has one)."""
    if fcntl is None:  # pragma: no cover - Windows: no advisory locks
        yield
        return
    fcntl.flock(f.fileno(), fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)


# ---------------------------------------------------------------------------
# Running a sweep
# ---------------------------------------------------------------------------

def sweep(
    grid: Mapping[str, Sequence[Any]] | None = None,
    *,
    configs: Sequence[Mapping[str, Any]] | None = None,
    cost_threshold: float = 0.2,
    record_every: int = 1000,
    n_threads: int = 1,
    results: str | os.PathLike | None = None,
    client: Any = None,
    chunk_size: int = 4,
    progress: Callable[[int, int], None] | str | None = "auto",
    schedule: str | Schedule | Mapping[str, Any] | None = None,
    l2: float = 0.0,
    clip_norm: float | None = None,
    keep_prob: float | None = None,
) -> SweepTable:
    """Train every configuration of a grid (or a list) and tabulate the results.

    Parameters
    ----------
    grid : mapping of str to list, optional
        Values to combine, e.g. ``{"init": ["zeros", "he"], "seed": range(10)}``;
        the parameters are the keys of :data:`DEFAULTS` (``init``, ``seed``,
        ``learning_rate``, ``optimizer`` (a name of
        :data:`fastinit.nn.optimizers.OPTIMIZERS`, with PyTorch's defaults;
        default "sgd": plain gradient descent), ``momentum`` (sgd and
        rmsprop; None: 0), ``weight_decay`` (None: the optimizer's default),
        ``layers`` (hidden sizes), ``activation``, ``dataset`` (a name of
        :data:`fastinit.io.datasets.NAMED_DATASETS`), ``num_iterations``,
        ``dtype``); the others keep the seed notebook's values.  Each
        optimizer's learning rate is the configuration's ``learning_rate``.
    configs : list of mappings, optional
        Explicit configurations instead of (or after) the grid's.
    cost_threshold : float, default 0.2
        A run "converges" at the first recorded iteration whose cost is below it.
    record_every : int, default 1000
        Recording interval of the cost curves.
    n_threads : int, default 1
        Models trained at once on local threads (-1: every CPU).  Local
        runs train batches of ``8 * n_threads`` configurations of one group
        per batched call; the records of a batch are appended when it ends.
    results : path, optional
        JSON-lines file: each finished record is appended at once, and the
        configurations already in it are not run again (resuming).
    client : dask.distributed.Client, optional
        Run on this cluster instead of local threads, in chunks of
        ``chunk_size`` configurations of one group (one batched call each).
    progress : callable, "auto" or None, default "auto"
        ``progress(done, total)`` after every finished configuration; "auto":
        a line with the count, elapsed time, rate and time left on standard
        error when it is a terminal (nothing in a notebook, a log or a pipe);
        None: nothing.
    schedule : str, Schedule or mapping, optional
        The learning-rate schedule of every training: a name of
        :data:`fastinit.nn.optimizers.SCHEDULES` (default hyper-parameters), a
        :class:`~fastinit.nn.optimizers.Schedule` object, or a mapping such as
        ``{"name": "cosine", "t_max": 1500}``.  Default: constant.
    l2 : float, default 0
        L2 penalty of every training (see :func:`fastinit.train`).
    clip_norm : float, optional
        Gradient-norm bound of every training (see :func:`fastinit.train`).
    keep_prob : float, optional
        Inverted dropout on every hidden layer of every training: each unit
        is kept with this probability, in (0, 1] (see :func:`fastinit.train`;
        each run's masks come from its own seed).  One number only: the
        networks of a grid may differ in depth, so no list of one per layer.
        Default (None, or 1): no dropout.

    ``schedule``, ``l2``, ``clip_norm`` and ``keep_prob`` are shared by the
    whole sweep (the batched kernel trains a batch with one of each); every
    record holds them, and a results file of records made with other values
    is refused (records written before a setting existed mean its default).

    Returns
    -------
    SweepTable
        One record per configuration, in the order of the configurations.
    """
    todo = expand_grid(grid) if grid is not None else []
    if configs is not None:
        if isinstance(configs, (str, bytes, Mapping)) or not isinstance(configs, Iterable):
            raise TypeError(f"configs must be a list of configurations (mappings), "
                            f"got {type(configs).__name__}")
        configs = list(itertools.islice(configs, MAX_CONFIGS + 1))
        if len(todo) + len(configs) > MAX_CONFIGS:
            raise ValueError(f"more than {MAX_CONFIGS} configurations: split the sweep")
        todo += [_normalise(c) for c in configs]
    if not todo:
        raise ValueError("sweep needs a grid or a list of configurations")
    if isinstance(progress, str) and progress == "auto":
        progress = terminal_progress("training")
    elif progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable as progress(done, total), \"auto\" or "
                        f"None, got {progress!r}")
    cost_threshold = check_positive_float(cost_threshold, "cost_threshold")
    record_every = check_count(record_every, "record_every", minimum=1)
    n_threads = check_n_threads(n_threads)
    chunk_size = check_count(chunk_size, "chunk_size", minimum=1)
    shared = _shared(schedule, l2, clip_norm, keep_prob)
    keys = [config_key(c) for c in todo]
    store = _ResultsFile(results) if results is not None else None
    found: dict[str, dict[str, Any]] = dict(store.done) if store else {}
    results_path = store.path if store else ""  # os.fspath(results)
    for record in found.values():  # records of other settings cannot be reused
        if record.get("format") != RECORD_FORMAT:
            raise ValueError(
                f"{results_path} holds records of an older fastinit, whose final_cost "
                f"was the last recorded cost: use another results file")
        if (record.get("cost_threshold"), record.get("record_every")) != (cost_threshold,
                                                                           record_every):
            raise ValueError(
                f"{results_path} holds records made with cost_threshold="
                f"{record.get('cost_threshold')}, record_every={record.get('record_every')}; "
                f"this sweep uses {cost_threshold}, {record_every}: use another results file")
        theirs = {k: record.get(k) for k in shared}
        if theirs != shared:
            raise ValueError(
                f"{results_path} holds records made with {_settings_text(theirs)}; this sweep "
                f"uses {_settings_text(shared)}: use another results file")
    pending = [c for c, k in zip(todo, keys) if k not in found]
    pending = list({config_key(c): c for c in pending}.values())  # a grid may repeat one
    total, done = len(set(keys)), len(set(keys)) - len(pending)

    def finished(records: Iterable[dict[str, Any]]) -> None:
        nonlocal done
        for record in records:
            if store:
                store.append(record)
            found[record["key"]] = record
            done += 1
            if progress is not None:
                progress(done, total)

    groups: dict[tuple, list[dict[str, Any]]] = {}
    for config in pending:
        groups.setdefault(_group(config), []).append(config)
    # 8 models per thread: enough that the threads finish a batch together
    # (2 per thread left one idle at the batch's end: 1.87x vs 1.98x on 2
    # threads for the seed's 4 x 25 sweep), few enough that a batch of the
    # seed's size ends in well under a second.
    size = chunk_size if client is not None else 8 * n_threads
    batches = [members[i:i + size] for members in groups.values()
               for i in range(0, len(members), size)]
    if client is not None:
        futures = client.map(run_batch, batches, cost_threshold=cost_threshold,
                             record_every=record_every, n_threads=1, pure=False, **shared)
        from dask.distributed import as_completed as dask_completed

        for future in dask_completed(futures):
            finished(future.result())
    else:
        for batch in batches:
            finished(run_batch(batch, cost_threshold, record_every, n_threads, **shared))
    return SweepTable([found[k] for k in dict.fromkeys(keys)], cost_threshold)
