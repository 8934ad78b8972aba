"""Plot a run's curves: `python launch/plot.py RUN_DIR [--out=FILE.png]` or `alba plot RUN_DIR`."""
if __name__ == "__main__":
    import _bootstrap  # noqa: F401

from pretrain.command import guarded, run_fire


@guarded
def plot(run_dir: str, out: str = ""):
    """Write the loss, accuracy, learning-rate, throughput and gradient-norm curves of a run as one PNG.

    Args:
        run_dir: a run directory (holding metrics.jsonl) or a metrics.jsonl file
        out: the PNG to write (default RUN_DIR/curves.png)
    """
    from pretrain.plot import plot_run
    print(f"wrote {plot_run(run_dir, out)}")


if __name__ == "__main__":
    run_fire(plot, "plot")
