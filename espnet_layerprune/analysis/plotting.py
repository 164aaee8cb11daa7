"""Plots of the analysis reports: matplotlib without a display."""


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (files only), imported when a plot is drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
