"""A design matrix held as blocks of consecutive rows, each block with only the columns it uses.

Models with a column (or a spline) per division have designs that are mostly zeros: a division's rows are
zero in the other divisions' columns. Newton's method needs sums over the rows (X·b, X'·v, X'WX), which
are taken block by block on each block's own columns. Used by the robust veil of darkness
(``veil_robust``) and the officer review's propensity models (``officer_review``).
"""

from __future__ import annotations

import itertools
from functools import cached_property

import numpy as np
from scipy import sparse


class Blocks:
    """A design matrix held as blocks of consecutive rows, each with only the columns it uses.

    A robust model's design has one spline per division: a division's rows are zero in the other
    divisions' columns, about 19 of 152 columns non-zero on a city's table. The products a Newton step
    needs (X·b, X'·v and the information X'WX) are sums over the rows, so they are taken block by
    block on the dense columns of each and added up. On the 3,000,000-row benchmark table (24,000
    patterns, 152 columns) X'WX by blocks took 1.5 s over all the robust rows' fits, where the dense
    products took about 10 s, most of the robust veil's time. The figures are the same sums in another
    order (equal to rounding; tests/analytics/test_veil_robust.py).
    """

    def __init__(self, shape: tuple[int, int], blocks: list[tuple[slice, np.ndarray, np.ndarray]]) -> None:
        self.shape = shape
        self.blocks = blocks

    @classmethod
    def of(cls, matrix: np.ndarray, labels: np.ndarray | None = None) -> Blocks:
        """Blocks of ``matrix``: one per run of equal ``labels`` (one block for all rows by default).

        Any partition gives the same products; runs of a division's rows give small ones.
        """
        rows = len(matrix)
        if labels is None or rows == 0:
            bounds = [0, rows]
        else:
            bounds = [0, *(np.flatnonzero(np.diff(labels)) + 1).tolist(), rows]
        blocks = []
        for start, stop in itertools.pairwise(bounds):
            part = matrix[start:stop]
            columns = np.flatnonzero(np.any(part != 0, axis=0))
            blocks.append((slice(start, stop), columns, np.ascontiguousarray(part[:, columns])))
        return cls(matrix.shape, blocks)

    def __len__(self) -> int:
        return self.shape[0]

    def times(self, vector: np.ndarray) -> np.ndarray:
        """X·b."""
        out = np.zeros(self.shape[0])
        for rows, columns, part in self.blocks:
            out[rows] = part @ vector[columns]
        return out

    def transposed_times(self, vector: np.ndarray) -> np.ndarray:
        """X'·v."""
        out = np.zeros(self.shape[1])
        for rows, columns, part in self.blocks:
            out[columns] += vector[rows] @ part
        return out

    def information(self, weights: np.ndarray) -> np.ndarray:
        """X'WX for the diagonal weights W."""
        out = np.zeros((self.shape[1], self.shape[1]))
        for rows, columns, part in self.blocks:
            out[np.ix_(columns, columns)] += part.T @ (part * weights[rows, None])
        return out

    def information_each(self, weights: np.ndarray) -> np.ndarray:
        """X'W_mX for each row m of ``weights`` (models x rows): models x k x k, all models at once.

        Each block's cross products of its own columns are formed once and weighted by every model
        in one product: the officer review's propensity models (a column per division, so a cell uses
        6 of 21 columns) multiply 36 numbers a cell rather than 441; on the speed benchmark's table
        (400 officers, 768 cells) a Newton step's information took about 4 ms, against 40 ms as one
        product over the whole design. The products run through numpy's own loops, not BLAS (see
        ``officer_review._dot``).
        """
        out = np.zeros((len(weights), self.shape[1], self.shape[1]))
        for (rows, columns, _), outer in zip(self.blocks, self._cross_products, strict=True):
            width = len(columns)
            summed = np.einsum("mr,rq->mq", weights[:, rows], outer, optimize=False)
            out[:, columns[:, None], columns[None, :]] += summed.reshape(len(weights), width, width)
        return out

    @cached_property
    def _cross_products(self) -> list[np.ndarray]:
        """Each block's rows' outer products with themselves, flattened (rows x columns²)."""
        return [(part[:, :, None] * part[:, None, :]).reshape(len(part), -1) for _, _, part in self.blocks]

    def officer_scores(self, cells: sparse.csc_array) -> np.ndarray:
        """``cells`` (officers by rows, each entry a cell's residual) times X: each officer's score.

        Column-compressed, so that a block's rows of X are a slice of ``cells``'s columns."""
        out = np.zeros((cells.shape[0], self.shape[1]))
        for rows, columns, part in self.blocks:
            out[:, columns] += cells[:, rows] @ part
        return out
