"""Where the blocks of a knockout experiment run: one after another in this process, or as tasks on a Dask cluster.

An effect map, a causal set's greedy step, a deletion curve and a relay knockout test each evaluate many
independent knockout sets. They cut them into blocks (groups of windows, or the sets of one stacked pass) and
hand the blocks to :func:`run_blocks`, which runs them here or on a Client's workers. The block boundaries and
every random draw are fixed before any block runs, by the caller and never by a worker, so a cluster gives
the in-process result exactly (docs/scaling.md, "Effect maps and knockout tests on a cluster").
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Self

from .._cluster import close_all, completed, open_client, tasks_on_cluster

__all__ = ["BlockRunner", "cluster_for", "run_blocks"]


#: Most workers of a ``client="local"`` cluster: each holds its own copy of the model, the inputs and the
#: intact states, so one per core on a large machine could run out of memory before it ran out of cores.
MAX_LOCAL_WORKERS = 8


@contextlib.contextmanager
def cluster_for(client: Any, owner: str) -> Iterator[Any]:
    """The Client a knockout experiment runs on (None: this process); a cluster opened here closes on exit.

    ``client`` takes the vocabulary of :func:`relaywidgets._cluster.open_client`: None or False, ``"local"``
    (one single-threaded worker process per core, at most :data:`MAX_LOCAL_WORKERS`), a scheduler address,
    or a ``distributed.Client`` (left open).
    """
    n_workers = max(1, min(MAX_LOCAL_WORKERS, os.cpu_count() or 1))
    run_on, opened = open_client(client, owner, n_workers=n_workers)
    try:
        yield run_on
    finally:
        close_all(opened)


@contextlib.contextmanager
def _eval_mode(model: Any) -> Iterator[None]:
    """Hold ``model`` in eval mode while blocks run.

    The blocks switch the model to eval mode and back around each pass. On a cluster whose workers are
    threads of this process they share the model object, and one block's switch back could put another's pass
    in training mode; held in eval mode for the whole run, every switch is a no-op.
    """
    if model is None or not hasattr(model, "train"):
        yield
        return
    was_training = bool(model.training)
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


class BlockRunner:
    """Runs ``fn(shared, block, *common)`` for many blocks, in this process or on a Client's workers.

    Used as a context manager around a whole experiment: ``shared`` (the stacked runner: model, inputs and
    intact states) is sent to the cluster once, at the first :meth:`run`, and reused by every later one (a
    causal set runs one batch of blocks per greedy step); the model is held in eval mode until the end.

    Parameters
    ----------
    client : distributed.Client or None
        Where to run (None: here, in order). Resolve a user's ``client=`` with :func:`cluster_for` first.
    shared : object
        What every block needs and is large; never sent once per block.
    owner : str
        The public function, for messages.
    model : torch.nn.Module, optional
        Held in eval mode while the blocks run on a cluster (see :func:`_eval_mode`).
    """

    def __init__(self, client: Any, shared: Any, *, owner: str, model: Any = None) -> None:
        self.client, self.shared, self.owner, self.model = client, shared, owner, model
        self._shared_future: Any = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Self:
        if self.client is not None:
            self._stack.enter_context(_eval_mode(self.model))
        return self

    def __exit__(self, *exc: object) -> None:
        self._shared_future = None  # released: the cluster may drop it
        self._stack.close()

    def run(
        self,
        fn: Callable[..., Any],
        blocks: Sequence[Any],
        *,
        common: tuple = (),
        what: str = "blocks",
        on_done: Callable[[Any], None] = lambda block: None,
    ) -> list[Any]:
        """``[fn(shared, block, *common) for block in blocks]``, here or as one task per block.

        Parameters
        ----------
        fn : callable
            A module-level function (the workers import it).
        blocks : sequence
            The independent pieces of work, small (indices, masks, drawn sets).
        common : tuple
            Further arguments shared by every block of this run, scattered once.
        what : str
            The name of the blocks, for messages.
        on_done : callable
            Called with each block as it finishes (a progress bar).

        Returns
        -------
        list
            One result per block, in the order of ``blocks`` whatever the order they finished in.

        Raises
        ------
        ClusterError
            When the cluster goes away (scheduler or workers lost, client closed) before every block is done;
            the unfinished tasks are cancelled and nothing is returned.
        """
        client = self.client
        if client is None:
            results = []
            for block in blocks:
                results.append(fn(self.shared, block, *common))
                on_done(block)
            return results

        futures: list[Any] = []
        results: list[Any] = [None] * len(blocks)
        run_id = uuid.uuid4().hex[:8]  # keys unique per run, so a long-lived cluster never hands back an old result
        with tasks_on_cluster(
            client, futures, total=len(blocks), what=what, during=f"while {self.owner} ran", in_process="client=None",
            then=": the result does not depend on where or in what order the blocks ran",
        ):
            if self._shared_future is None:
                # a one-element list, so that a tuple or list is sent as one object rather than element-wise
                self._shared_future = client.scatter([self.shared], hash=False)[0]
            common_f = client.scatter(list(common), hash=False) if common else []
            name = getattr(fn, "__name__", "block")
            futures.extend(
                client.submit(fn, self._shared_future, block, *common_f, key=f"{self.owner}-{name}-{run_id}-{i}",
                              pure=False)
                for i, block in enumerate(blocks)
            )
            index = {f.key: i for i, f in enumerate(futures)}
            for future, result in completed(futures):
                i = index[future.key]
                results[i] = result
                on_done(blocks[i])
        return results


def run_blocks(
    client: Any,
    fn: Callable[..., Any],
    shared: Any,
    blocks: Sequence[Any],
    *,
    common: tuple = (),
    owner: str,
    what: str = "blocks",
    model: Any = None,
    on_done: Callable[[Any], None] = lambda block: None,
) -> list[Any]:
    """One :meth:`BlockRunner.run` of ``fn`` over ``blocks``: for experiments with a single batch of blocks."""
    with BlockRunner(client, shared, owner=owner, model=model) as runner:
        return runner.run(fn, blocks, common=common, what=what, on_done=on_done)
