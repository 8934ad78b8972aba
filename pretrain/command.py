"""Glue between python-fire and the typed configs: a fire command whose flags are a dataclass's fields, whose
`--help` lists every option with its default, and whose bad input ends in one line on stderr and exit status 2."""
from __future__ import annotations

import dataclasses
import inspect
import os
import sys
import textwrap
from pathlib import Path
from typing import Callable

from data_pipeline import DataError
from modeling import ConfigError as ModelConfigError

from .config import ConfigError
from .engine import TrainingError, group_exists, release_group, remove_deepspeed_buffer
from .rundir import discard_replaced, restore_replaced

USER_ERRORS = (ConfigError, ModelConfigError, DataError, TrainingError)
# Where each group of options appears in --help: the job's own (data, model, a task's) first, the shared last.
GROUP_ORDER = {"data": 0, "model": 1, "train": 4, "launch": 5, "run": 6}
# The flag that launchers (deepspeed, torch.distributed.launch) put first on every process's command line.
LAUNCHER_FLAGS = ("--local_rank", "--local-rank")


def without_launcher_flags(argv: list[str]) -> list[str]:
    """The command line without the launcher's --local_rank (which would stand where fire expects a subcommand);
    the process's rank is in the environment (LOCAL_RANK) either way."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in LAUNCHER_FLAGS:
            skip = True  # "--local_rank 0"
        elif not arg.startswith(tuple(f + "=" for f in LAUNCHER_FLAGS)):
            kept.append(arg)
    return kept


def run_fire(component, name: str, groups: dict[str, str] | None = None) -> None:
    """A launch script's main: fire on `component` with the command line a launcher gave; `--help` anywhere gives
    alba's help for what the words before it name (`groups`: one line on each group of commands)."""
    import fire

    argv = without_launcher_flags(sys.argv[1:])
    if any(a in ("--help", "-h") for a in argv):
        print(help_for(component, [name], [a for a in argv if a not in ("--help", "-h")], groups or {}))
        return
    fire.Fire(component, command=argv, name=name)


def help_for(component, path: list[str], words: list[str], groups: dict[str, str]) -> str:
    """The help of the group or command that `words` lead to from `component` (named `path`)."""
    for word in words:
        if not isinstance(component, dict) or word not in component:
            break
        component, path = component[word], [*path, word]
    if not isinstance(component, dict):
        return component.__doc__ if hasattr(component, "options") else function_help(" ".join(path), component)
    width = max(map(len, component))
    lines = [f"{' '.join(path)} COMMAND [--options]", "", "Commands:"]
    for word, target in component.items():
        text = groups.get(word, "") if isinstance(target, dict) else (target.__doc__ or "").split("\n\n")[0]
        summary = " ".join(text.split())
        summary = summary.split(": ", 1)[-1] if summary.startswith("alba ") else summary  # a title "alba x: ..."
        lines.append(f"  {word.ljust(width)}  " + textwrap.shorten(summary, 100 - width, placeholder="..."))
    lines += ["", f"`{' '.join(path)} COMMAND --help` lists a command's options with their defaults."]
    return "\n".join(lines)


def function_help(title: str, fn: Callable) -> str:
    """A plain command's help in the style of the config commands': what it does, then each option with its
    default (required ones first, which may also be given in order without their names)."""
    doc = inspect.getdoc(fn) or ""
    summary, _, args = doc.partition("\nArgs:\n")
    described = {}
    for line in args.splitlines():
        key, sep, text = line.strip().partition(": ")
        if sep and line.startswith("    ") and not line.startswith("     "):
            described[key] = text
        elif described:
            described[list(described)[-1]] += " " + line.strip()
    lines = [*textwrap.wrap(f"{title}: " + " ".join(summary.split()), 110), "", "Options (--name=value):"]
    for p in inspect.signature(fn).parameters.values():
        required = p.default is inspect.Parameter.empty
        lines.append(f"  --{p.name}" + (" (required; or given in order, without the name)" if required
                                         else f"={p.default!r}"))
        lines += textwrap.wrap(described.get(p.name, ""), 100, initial_indent=" " * 6, subsequent_indent=" " * 6)
    return "\n".join(lines)


def help_text(title: str, config_cls, extra: dict[str, str] | None = None) -> str:
    lines = [title, "", "Options (--name=value; a JSON/YAML --config file sets the same keys):"]
    group = None
    # By concern, the job's own groups first; each group's options in their declared order.
    for f in sorted(dataclasses.fields(config_cls), key=lambda f: GROUP_ORDER.get(f.metadata.get("group"), 3)):
        if f.metadata.get("group") != group:
            group = f.metadata.get("group")
            lines.append(f"  [{group}]")
        default = f.default if f.default is not dataclasses.MISSING else None
        lines.append(f"  --{f.name}={default!r}")
        lines += textwrap.wrap(f.metadata.get("help", ""), 100, initial_indent=" " * 6, subsequent_indent=" " * 6)
    for name, text in (extra or {}).items():
        lines.append(f"  --{name}")
        lines += textwrap.wrap(text, 100, initial_indent=" " * 6, subsequent_indent=" " * 6)
    return "\n".join(lines)


def fail(message: str) -> None:
    print(f"alba: error: {message}", file=sys.stderr)
    sys.exit(2)


def config_command(name: str, title: str, config_cls, run: Callable) -> Callable:
    """A fire-callable `name(**flags)` that builds `config_cls` from `--config` and the flags, then calls `run`."""
    extra = {"config": "JSON or YAML file of options; flags given on the command line win (default: none)"}

    def command(**flags):
        if flags.pop("help", False) or flags.pop("h", False):
            print(help_text(title, config_cls, extra))
            return None
        done, caller_group, cfg = False, group_exists(), None
        try:
            cfg = config_cls.build(flags.pop("config", None), **flags)
            run(cfg)
            done = True
        except USER_ERRORS as e:
            fail(str(e))
        except KeyboardInterrupt:
            fail("interrupted")
        finally:
            if getattr(cfg, "overwrite", False) and cfg.output_dir and os.environ.get("RANK", "0") == "0":
                # The old run goes once this one succeeded, and comes back if this one failed first.
                (discard_replaced if done else restore_replaced)(Path(cfg.output_dir))
            ours = not caller_group and release_group(barrier=done)
            if ours:
                remove_deepspeed_buffer()
        if done and ours:
            # Even with the group destroyed, a gloo thread left over (e.g. from ZeRO-3's prefetch) can abort the
            # interpreter's teardown after a complete run (about 1 in 20 ZeRO-3 runs on CPU): everything is
            # written and closed by now, so leave without the teardown.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        return None

    params = [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default)
              for f in dataclasses.fields(config_cls)]
    params.append(inspect.Parameter("flags", inspect.Parameter.VAR_KEYWORD))
    command.__signature__ = inspect.Signature(params)
    command.__name__ = name
    command.__doc__ = help_text(title, config_cls, extra)
    command.options = config_cls
    return command


def with_subcommands(title: str, command: Callable, subcommands: dict[str, Callable]) -> Callable:
    """A config command (`command(**flags)` runs the job) that also runs plain functions as named subcommands,
    e.g. `alba baseline seq2seq translate RUN "text"`; `title` is the command's name on the command line, and its
    --help lists the job's options and then each subcommand's."""
    subs = {word: guarded(fn) for word, fn in subcommands.items()}

    def dispatch(*words, **flags):
        if flags.get("help") or flags.get("h"):
            print(dispatch.__doc__)
            return None
        if words and words[0] in subs:
            return subs[words[0]](*words[1:], **flags)
        if words:
            fail(f"{title} takes options (--name=value), or a subcommand: {', '.join(subs)}; got {words[0]!r}")
        return command(**flags)
    dispatch.__doc__ = "\n\n".join([command.__doc__] + [function_help(f"{title} {w}", fn)
                                                         for w, fn in subcommands.items()])
    dispatch.options = command.options
    return dispatch


def guarded(fn: Callable) -> Callable:
    """Wrap a plain fire function so user errors become one line and exit status 2."""
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as e:
            fail(str(e))
    wrapper.__signature__ = inspect.signature(fn)
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper
