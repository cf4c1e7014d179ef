"""The relay explorer as an app for students who do not code: pick a task and an architecture, open a
shipped network (or train one), explore its relays, effect map and knockouts.

``notebooks/app.ipynb`` shows it as a Voilà page (``make app``); in a notebook, ``app()`` displays it.
The explorer it opens is :class:`relaywidgets.widgets.Explorer`, unchanged.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import ipywidgets as widgets
from traitlets import Bool, TraitError, Unicode, observe, validate

from .._validation import check_int
from ..errors import InputError
from ._style import escape
from .app_catalog import ARCHS, choices, collect_warnings, describe, shipped, training_data
from .explorer import Explorer, explore

__all__ = ["App", "AppError", "app"]

# Arguments the app passes itself (from its own parameters), so they cannot come in the kwargs dicts too.
_OWN_ARGUMENTS = {
    "train_kwargs": ("lengths", "seed", "progress"),
    "find_relays_kwargs": ("progress",),
}


class AppError(InputError, TraitError):
    """A value the app cannot take (an unknown task or architecture, or no shipped network for the pair)."""


class App(widgets.VBox):
    """Pick a task or data set and an architecture, open a network, and explore it without code.

    The app lists the synthetic tasks (:func:`relaywidgets.tasks.tasks`) and the bundled data sets
    (:func:`relaywidgets.data.datasets`), and the three architectures. "Load" loads the network shipped for
    the pair (:func:`relaywidgets.pretrained.load_pretrained`); "Train" trains a new one with
    :func:`relaywidgets.train` (its progress bar is shown). Either way the network is recorded on its
    held-out test sequences, its relays are found, and :class:`~relaywidgets.widgets.Explorer` shows the
    relay map beside the effect map, the graph beside the causal set, and the knockout toggles with the
    accuracy readout; knockouts are scored on the same test sequences. While it works, the controls are
    disabled and the status line says what is happening; errors appear in the app instead of a traceback.

    Parameters
    ----------
    task : str, default "delayed-cue"
        A synthetic task or a bundled data set (``App.choices()``).
    arch : {"rnn", "lstm", "gru"}, default "lstm"
    autoload : bool, default True
        Load the shipped network of ``(task, arch)`` at once, when there is one.
    hidden_size : int, default 16
        Units of a network trained with "Train" (the shipped ones have 16).
    seed : int, default 0
        Seed of a trained network's weights and of its training.
    train_kwargs : dict, optional
        Further arguments of :func:`relaywidgets.train` for "Train" (``epochs``, ``lr``, ...).
    find_relays_kwargs : dict, optional
        Arguments of :func:`relaywidgets.find_relays` (``estimator``, ``n_perm``, ...); the explorer's
        Recompute reuses them.
    progress : bool, default True
        Show the progress bars of training and of the relay search in the app.

    Attributes
    ----------
    task, arch : str
        The pair picked (traits; setting them updates the controls, and the controls set them).
    busy : bool
        True while a network is being loaded, trained or analysed (the controls are disabled).
    status : str
        What the app is doing or has done (CSS class ``rw-app-status``).
    error : str
        The last error of an action ("" when none; shown in ``rw-app-error``).
    network : str
        What the explorer shows: the shipped network's name, or ``"<task>-<arch> (trained here)"``.
    explorer : Explorer or None
        The explorer of the network opened last.
    model : RecurrentClassifier or None
        That network.
    test_data : tuple or None
        ``(X, y, lengths)``: the held-out sequences it was recorded and is knocked out on.
    task_select : ipywidgets.Dropdown
        CSS class ``rw-app-task``.
    arch_select : ipywidgets.ToggleButtons
        CSS class ``rw-app-arch``.
    load_button, train_button : ipywidgets.Button
        CSS classes ``rw-app-load`` and ``rw-app-train``.
    progress_output : ipywidgets.Output
        Receives the progress bars (CSS class ``rw-app-progress``).

    Notes
    -----
    Stable CSS classes (for styling and browser tests): ``rw-app`` (root), ``rw-app-task``, ``rw-app-arch``,
    ``rw-app-load``, ``rw-app-train``, ``rw-app-status``, ``rw-app-error``, ``rw-app-about`` (the pair's
    description and which architectures are shipped for it), ``rw-app-network`` (the network shown and its
    accuracy), ``rw-app-notes`` (warnings of training and analysis), ``rw-app-progress`` and
    ``rw-app-explorer`` (the box that holds the explorer; the explorer's own classes are listed in
    :class:`~relaywidgets.widgets.Explorer`).

    Examples
    --------
    >>> from relaywidgets import Knockout
    >>> from relaywidgets.knockout import evaluate
    >>> from relaywidgets.widgets import App
    >>> ui = App("delayed-cue", "gru", progress=False)  # loads the shipped network at once
    >>> ui.network
    'delayed-cue-gru'
    >>> ui.explorer.knockout_panel.toggles["l0.h0"].value = True  # what a click on the toggle does
    >>> X, y, lengths = ui.test_data
    >>> ui.explorer.state.accuracy == float(evaluate(ui.model, X, y, knockout=Knockout(["l0.h0"])).accuracy)
    True
    """

    task = Unicode("delayed-cue", help="The synthetic task or bundled data set picked.")
    arch = Unicode("lstm", help="The architecture picked: 'rnn', 'lstm' or 'gru'.")
    busy = Bool(False, help="True while a network is loaded, trained or analysed.")
    status = Unicode("", help="What the app is doing or did last (one line).")
    error = Unicode("", help="The last error of an action, shown in the app ('' when none).")
    network = Unicode("", help="The network the explorer shows ('' before one is opened).")

    def __init__(
        self,
        task: str = "delayed-cue",
        arch: str = "lstm",
        *,
        autoload: bool = True,
        hidden_size: int = 16,
        seed: int = 0,
        train_kwargs: dict | None = None,
        find_relays_kwargs: dict | None = None,
        progress: bool = True,
    ) -> None:
        self.hidden_size = check_int(hidden_size, "hidden_size", "App", 1)
        self.seed = check_int(seed, "seed", "App", 0)
        for name, value in (("train_kwargs", train_kwargs), ("find_relays_kwargs", find_relays_kwargs)):
            if value is not None and not isinstance(value, dict):
                raise AppError(f"The {name!r} parameter of App must be a dict or None. Got {value!r} instead.")
            clash = [k for k in _OWN_ARGUMENTS[name] if k in (value or {})]
            if clash:
                raise AppError(
                    f"The {name!r} parameter of App cannot set {', '.join(map(repr, clash))}: the app sets "
                    "them itself (pass App(seed=..., progress=...) instead)."
                )
        self.train_kwargs = dict(train_kwargs or {})
        self.find_relays_kwargs = dict(find_relays_kwargs or {})
        self.progress = bool(progress)
        self.explorer: Explorer | None = None
        self.model: Any = None
        self.test_data: tuple | None = None
        self._choices = choices()
        super().__init__()

        self.task_select = widgets.Dropdown(
            options=[(f"{n} ({'synthetic task' if s == 'task' else 'data set'})", n) for n, s in self._choices.items()],
            description="task",
            layout=widgets.Layout(width="360px"),
        )
        self.task_select.add_class("rw-app-task")
        self.arch_select = widgets.ToggleButtons(
            options=[(a.upper(), a) for a in ARCHS],
            description="",
            tooltips=["Elman network (tanh)", "long short-term memory", "gated recurrent unit"],
            style={"button_width": "64px", "description_width": "initial"},
        )
        self.arch_select.add_class("rw-app-arch")
        self.load_button = widgets.Button(description="Load", icon="folder-open",
                                          tooltip="Load the network shipped for this task and architecture.")
        self.load_button.add_class("rw-app-load")
        self.train_button = widgets.Button(description="Train", icon="cogs",
                                           tooltip="Train a new network for this task and architecture.")
        self.train_button.add_class("rw-app-train")
        self.status_area = widgets.HTML()
        self.status_area.add_class("rw-app-status")
        self.error_area = widgets.HTML()
        self.error_area.add_class("rw-app-error")
        self.about = widgets.HTML()
        self.about.add_class("rw-app-about")
        self.network_area = widgets.HTML()
        self.network_area.add_class("rw-app-network")
        self.notes = widgets.HTML()
        self.notes.add_class("rw-app-notes")
        self.progress_output = widgets.Output(layout=widgets.Layout(width="100%"))
        self.progress_output.add_class("rw-app-progress")
        self.explorer_area = widgets.Box(layout=widgets.Layout(width="100%"))
        self.explorer_area.add_class("rw-app-explorer")

        self.task_select.observe(self._push("task"), names="value")
        self.arch_select.observe(self._push("arch"), names="value")
        self.load_button.on_click(lambda _: self._act(self.load))
        self.train_button.on_click(lambda _: self._act(self.train))

        title = widgets.HTML(
            '<div style="font-size:130%"><b>Information relays of a recurrent network</b></div><div>Pick a task and a network, press '
            "<b>Load</b> (or <b>Train</b> when none is shipped), then knock units out below and watch the accuracy."
            "</div>"
        )
        # The architecture's label beside its buttons (ToggleButtons' own description wraps above them).
        controls = widgets.HBox([self.task_select, widgets.Label("network", layout=widgets.Layout(margin="0 4px 0 12px")),
                                 self.arch_select, self.load_button, self.train_button],
                                layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        self.children = [title, controls, self.about, self.status_area, self.error_area, self.progress_output,
                         self.network_area, self.notes, self.explorer_area]
        self.add_class("rw-app")
        # Through the validators (a bad task names the choices), then into the controls.
        self.task, self.arch = task, arch
        self._sync()
        self._show_error()
        if autoload and self.shipped_name() is not None:
            self._act(self.load)
        elif not self.status:
            self.status = self._prompt()

    # ------------------------------------------------------------------ state
    def __setattr__(self, name: str, value: Any) -> None:
        # traitlets refuses a wrong type with a bare TraitError before the validators run; make every
        # refusal the package's own error.
        try:
            super().__setattr__(name, value)
        except AppError:
            raise
        except TraitError as err:
            raise AppError(f"{err} The app keeps its previous {name!r}.") from None

    @staticmethod
    def choices() -> dict[str, str]:
        """The tasks and data sets the app offers: name -> ``"task"`` or ``"dataset"``.

        Examples
        --------
        >>> from relaywidgets.widgets import App
        >>> App.choices()["JapaneseVowels"]
        'dataset'
        """
        return choices()

    @validate("task")
    def _check_task(self, proposal: Any) -> str:
        value = proposal["value"]
        if value not in self._choices:
            raise AppError(
                f"The 'task' of App must be a synthetic task or a bundled data set: one of "
                f"{', '.join(self._choices)}. Got {value!r} instead."
            )
        return value

    @validate("arch")
    def _check_arch(self, proposal: Any) -> str:
        value = proposal["value"]
        if not isinstance(value, str) or value.lower() not in ARCHS:
            raise AppError(f"The 'arch' of App must be one of 'rnn', 'lstm', 'gru'. Got {value!r} instead.")
        return value.lower()

    @observe("task", "arch")
    def _pair_changed(self, change: Any) -> None:
        self._sync()
        if not self.busy:
            self.status = self._prompt()

    @observe("busy")
    def _busy_changed(self, change: Any) -> None:
        self._sync()

    @observe("status")
    def _show_status(self, change: Any = None) -> None:
        text = escape(self.status)
        if self.busy:
            text = f'<i class="fa fa-spinner fa-spin" aria-hidden="true"></i> {text}'  # Font Awesome ships with ipywidgets
        self.status_area.value = f'<span role="status" aria-live="polite">{text}</span>'

    @observe("error")
    def _show_error(self, change: Any = None) -> None:
        if self.error:
            self.error_area.value = (
                '<div role="alert" style="color:#a94442;background:#f2dede;border:1px solid #ebccd1;'
                f'padding:4px 8px;border-radius:3px">{escape(self.error)}</div>'
            )
            self.error_area.layout.display = None
        else:
            self.error_area.value = ""
            self.error_area.layout.display = "none"

    def shipped_name(self, task: str | None = None, arch: str | None = None) -> str | None:
        """The name of the network shipped for ``(task, arch)`` (default: the pair picked), or None.

        Examples
        --------
        >>> from relaywidgets.widgets import App
        >>> ui = App(autoload=False)
        >>> ui.shipped_name("delayed-cue", "gru")
        'delayed-cue-gru'
        >>> ui.shipped_name("frequency", "gru") is None
        True
        """
        info = self._shipped().get((task or self.task, (arch or self.arch).lower()))
        return None if info is None else info.name

    def _shipped(self) -> dict[tuple[str, str], Any]:
        """The shipped networks by (task, arch); none, with the reason in ``error``, when the installation's
        list of them cannot be read (training still works)."""
        from ..errors import RelaywidgetsError

        try:
            return shipped()
        except RelaywidgetsError as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return {}

    def _prompt(self) -> str:
        name = self.shipped_name()
        pair = f"{self.arch.upper()} on {self.task}"
        if name is not None:
            return f"A trained {pair} is shipped ({name}): press Load."
        return f"No trained {pair} is shipped: press Train to train one here (a minute or so)."

    # ------------------------------------------------------------------ views
    def _push(self, name: str):
        def push(change: Any) -> None:
            if change["new"] is None or getattr(self, name) == change["new"]:
                return
            with self._reporting():
                setattr(self, name, change["new"])
        return push

    def _sync(self) -> None:
        """Controls follow the state: the picked pair, which buttons apply, disabled while busy."""
        if self.task_select.value != self.task:
            self.task_select.value = self.task
        if self.arch_select.value != self.arch:
            self.arch_select.value = self.arch
        shipped = {arch for (task, arch) in self._shipped() if task == self.task}
        has = self.arch in shipped
        for control in (self.task_select, self.arch_select, self.train_button):
            control.disabled = self.busy
        self.load_button.disabled = self.busy or not has
        self.load_button.button_style = "primary" if has else ""
        self.train_button.button_style = "" if has else "primary"
        listed = ", ".join(a.upper() for a in ARCHS if a in shipped) or "none"
        self.about.value = (
            f'<div style="font-size:90%"><b>{escape(self.task)}</b>: {escape(describe(self.task).rstrip("."))}. '
            f"Shipped networks for it: {escape(listed)}.</div>"
        )
        self._show_status()

    @contextlib.contextmanager
    def _busy(self, what: str) -> Iterator[None]:
        self.busy = True
        self.status = what
        try:
            yield
        finally:
            self.busy = False

    @contextlib.contextmanager
    def _reporting(self) -> Iterator[None]:
        """A user action: clear the last error, and show an exception in ``error`` instead of raising."""
        self.error = ""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - shown to the student, whose next step it names
            self.error = f"{type(exc).__name__}: {exc}"
            self.status = "Nothing changed: see the message below."

    def _act(self, action: Any) -> None:
        with self._reporting():
            if self.progress:  # (outside a kernel, clear_output prints terminal escapes)
                self.progress_output.clear_output()
            with self.progress_output:
                action()
            # Done: the bars said all they had to (after a failure they stay, showing how far it got).
            if self.progress:
                self.progress_output.clear_output()

    # ------------------------------------------------------------------ actions
    def load(self, name: str | None = None) -> Explorer:
        """Load a shipped network and show the explorer on its test sequences.

        Parameters
        ----------
        name : str, optional
            A name of :func:`relaywidgets.pretrained.pretrained`; default: the one shipped for the pair
            picked (the picked pair then follows the network).

        Returns
        -------
        Explorer

        Raises
        ------
        AppError
            When no network is shipped for the pair picked (the message says to train one).
        """
        from ..pretrained import load_pretrained

        if name is None:
            name = self.shipped_name()
            if name is None:
                raise AppError(
                    f"No trained {self.arch.upper()} on {self.task} is shipped with relaywidgets: press Train "
                    "(App.train()) to train one, or pick another pair."
                )
        with self._busy(f"Loading {name} ..."):
            start = time.perf_counter()
            net = load_pretrained(name)
            with self.hold_trait_notifications():
                self.task, self.arch = net.info.task, net.info.arch
            about = (net.info.description or f"A {net.info.hidden_size}-unit {net.info.arch.upper()}").rstrip(".")
            about += f" (shipped with relaywidgets, seed {net.info.seed})"
            self._show(name, net.model, net.X_test, net.y_test, net.lengths_test, about, start)
        return self.explorer

    def train(self) -> Explorer:
        """Train a new network for the pair picked, then show the explorer on its test sequences.

        The data: a synthetic task is drawn as for the shipped networks (the recipe of a shipped network of
        the same task, else :data:`relaywidgets.widgets.app_catalog.TASK_DATA`); a data set is loaded with its
        published train/test split. Training uses :func:`relaywidgets.train`'s defaults unless ``train_kwargs`` says otherwise; a
        network still at chance is shown anyway, with training's warning in the notes.

        Returns
        -------
        Explorer
        """
        from ..models import RecurrentClassifier
        from ..training import train

        task, arch = self.task, self.arch
        with self._busy(f"Training a new {arch.upper()} on {task} (progress bar below) ..."):
            start = time.perf_counter()
            with collect_warnings() as caught:
                # A shipped network of the same task fixes its data recipe: train on the same sequences.
                recipe = next((i.data for (t, _), i in self._shipped().items() if t == task and i.data), None)
                X_tr, y_tr, l_tr, X_te, y_te, l_te, class_names = training_data(task, recipe)
                model = RecurrentClassifier(arch, X_tr.shape[2], self.hidden_size, len(class_names),
                                            device="cpu", seed=self.seed)
                model.metadata.update({"task": task, "class_names": list(class_names)})
                history = train(model, X_tr, y_tr, lengths=l_tr, seed=self.seed, progress=self.progress,
                                **self.train_kwargs)
            model.eval()
            about = (f"{arch.upper()} with {self.hidden_size} units, trained here on {task} "
                     f"({len(y_tr)} sequences, seed {self.seed}, {len(history.train_loss)} epochs)")
            self._show(f"{task}-{arch} (trained here)", model, X_te, y_te, l_te, about, start, caught)
        return self.explorer

    def _show(self, name: str, model: Any, X: Any, y: Any, lengths: Any, about: str, start: float,
              caught: list[str] | None = None) -> None:
        """Record ``model`` on the test sequences, find its relays and put a new explorer in the app."""
        self.status = f"Recording {name} on {len(y)} test sequences and finding its relays ..."
        with collect_warnings() as found:
            explorer = explore(model, X, y, lengths, progress=self.progress, **self.find_relays_kwargs)
        self.explorer, self.model, self.test_data = explorer, model, (X, y, lengths)
        self.explorer_area.children = [explorer]
        self.network = name
        accuracy = explorer.state.baseline_accuracy
        self.network_area.value = (
            f"<div><b>{escape(name)}</b>: {escape(about)}. Accuracy on its {len(y)} test sequences: "
            f"<b>{accuracy:.3f}</b>.</div>"
        )
        notes = list(dict.fromkeys([*(caught or []), *found]))
        self.notes.value = (
            f'<details style="font-size:90%"><summary>{len(notes)} note{"s" if len(notes) != 1 else ""} from '
            "training and analysis</summary><ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes)
            + "</ul></details>" if notes else ""
        )
        self.status = f"Showing {name} (ready in {time.perf_counter() - start:.1f} s)."


def app(task: str = "delayed-cue", arch: str = "lstm", **kwargs: Any) -> App:
    """The relay explorer app (:class:`App`): what ``notebooks/app.ipynb`` shows as a Voilà page.

    Parameters
    ----------
    task : str, default "delayed-cue"
        The task or data set picked when the app opens.
    arch : {"rnn", "lstm", "gru"}, default "lstm"
    **kwargs
        Other :class:`App` arguments (``autoload``, ``train_kwargs``, ``find_relays_kwargs``, ``progress``, ...).

    Returns
    -------
    App

    Examples
    --------
    >>> from relaywidgets.widgets import app
    >>> ui = app(autoload=False)
    >>> ui.explorer is None, ui.task, ui.arch
    (True, 'delayed-cue', 'lstm')
    """
    return App(task, arch, **kwargs)
