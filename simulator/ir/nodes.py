"""The engine's intermediate representation: plain, typed, frozen data.

A model is lowered once (:mod:`simulator.ir.lower`) from pysd's abstract model into a
:class:`ModelIR`; everything downstream (validation, analysis, both printers) reads only this.

Expressions are trees of the node classes below. Each is evaluated in a *context*: the tuple of
subscript axes of the equation piece it belongs to (a reduction appends its own axes for its
argument). Every value has one cell per combination of context elements (and, at run time, one
column per ensemble member). Vensim's semantics are resolved by the lowering: subscript ranges,
subranges, mappings and the bang operator become integer index maps (:class:`Axis`,
:class:`Fixed`); stateful functions become explicit states; Vensim functions become
combinations of the primitive operations listed in :data:`UNARY` and :data:`BINARY`. The
printers hold no semantic rule: they dispatch on node classes and operator names only.

Strings in the IR are either engine-made operator names from the fixed sets below, or model
names kept for messages (:class:`Var` ``name``); printers never copy a model name into code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

# primitive operations: name -> what it computes (numpy semantics, NaN rules included)
UNARY = frozenset({"neg", "not", "abs", "exp", "ln", "sqrt", "sin", "cos", "tan", "arcsin", "arccos",
                   "arctan", "sinh", "cosh", "tanh", "trunc", "bool"})
BINARY = frozenset({"+", "-", "*", "/", "**", "==", "!=", "<", "<=", ">", ">=", "and", "or",
                    "min", "max", "mod", "powlog"})
# "powlog" is ``**`` for the same numbers, which a backend may compute as exp(y * ln x) (within a
# few units in the last place of pow for a positive x) with pow's answer where that is not finite
# (NaN, 0 and infinity where pow gives them): the strength-reduction pass (simulator.ir.strength)
# writes it
REDUCERS = frozenset({"sum", "prod", "min", "max"})
LOOKUP_MODES = frozenset({"interpolate", "extrapolate", "forward", "backward", "raw"})
NOISE_KINDS = frozenset({"uniform", "normal"})
VECTOR_OPS = frozenset({"sort_order", "rank", "reorder"})
VAR_KINDS = frozenset({"const", "aux", "lookup"})


# ----------------------------------------------------------------------------- index maps
@dataclass(frozen=True, slots=True)
class Fixed:
    """One element of a variable's dimension, the same for every cell of the context."""

    element: int


@dataclass(frozen=True, slots=True)
class Axis:
    """A variable's dimension runs along context axis ``axis``: context element ``k`` reads the
    variable's element ``elements[k]`` (identity for the same range; a subrange, a mapped range or
    a bang axis otherwise)."""

    axis: int
    elements: tuple[int, ...]


Index = Union[Fixed, Axis]


# ----------------------------------------------------------------------------- expressions
@dataclass(frozen=True, slots=True)
class Num:
    """A number (NaN is Vensim's :NA:)."""

    value: float


@dataclass(frozen=True, slots=True)
class Cells:
    """A number per cell of the context (an array constant written in the equation), C order."""

    shape: tuple[int, ...]
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class AxisValue:
    """Per cell, a number that depends on the element of context axis ``axis`` (a subscript used
    as a value: its 1-based position in its family)."""

    axis: int
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Time:
    """The current time."""


@dataclass(frozen=True, slots=True)
class TimeStep:
    """The run's TIME STEP (the clock's, which a run option may override)."""


@dataclass(frozen=True, slots=True)
class SwitchTime:
    """Time as read by a discontinuous function under an adaptive solver: nudged towards the middle
    of the current integration segment, so that a switch exactly at a segment boundary belongs to
    the segment being integrated. Equal to :class:`Time` in fixed-step runs."""


@dataclass(frozen=True, slots=True)
class ByClock:
    """``fixed`` in fixed-step (Euler/RK4) runs, ``adaptive`` under adaptive solvers."""

    fixed: "Expr"
    adaptive: "Expr"


@dataclass(frozen=True, slots=True)
class Ref:
    """The value of variable ``var`` (cells chosen by ``index``, one entry per dimension)."""

    var: int
    index: tuple[Index, ...]


@dataclass(frozen=True, slots=True)
class StateRef:
    """The current value of state ``state`` (a stock or a stage of a delay/smooth), same cells as
    the context it was created in."""

    state: int


@dataclass(frozen=True, slots=True)
class DiscreteRef:
    """Slot ``slot`` of discrete register ``register`` (same cells as its context)."""

    register: int
    slot: int


@dataclass(frozen=True, slots=True)
class InitialRef:
    """A value computed once at the initial time (Vensim's INITIAL), same cells as its context."""

    initial: int


@dataclass(frozen=True, slots=True)
class Unary:
    op: str
    arg: "Expr"


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True, slots=True)
class If:
    """``then`` where ``cond`` is non-zero, else ``other`` (both evaluated where numpy needs them)."""

    cond: "Expr"
    then: "Expr"
    other: "Expr"


@dataclass(frozen=True, slots=True)
class Lookup:
    """A lookup table applied to ``x``. ``source`` is ("var", var idx) for the tables of a lookup
    variable or of a data variable (cells by ``index``), or ("inline", table id) for a table
    written in the equation. ``mode`` "raw" gives the value at a table point, NaN between points."""

    source: tuple[str, int]
    index: tuple[Index, ...]
    x: "Expr"
    mode: str


@dataclass(frozen=True, slots=True)
class Let:
    """``body``, in which :class:`Bound` stands for ``value``: a value a Vensim function uses twice
    (the divisor of ZIDZ, for instance) is computed once. The first :class:`Bound` of ``body`` in
    evaluation order must not be inside an ``If`` branch or a ``ByClock``."""

    value: "Expr"
    body: "Expr"


@dataclass(frozen=True, slots=True)
class Bound:
    """The value of the innermost enclosing :class:`Let`."""


@dataclass(frozen=True, slots=True)
class Reduce:
    """``op`` over the cells of ``arg``'s trailing ``sizes`` axes (appended to the context),
    sequentially in C order for sum and prod so that every backend adds in the same order."""

    op: str
    arg: "Expr"
    sizes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Vector:
    """A permutation along context axis ``axis``: "sort_order" (0-based positions that sort
    ``arg`` ascending, or descending when ``descending``), "rank" (1-based ranks), "reorder"
    (``arg`` read at the positions ``order`` gives)."""

    op: str
    arg: "Expr"
    axis: int
    descending: bool = False
    order: "Expr | None" = None


@dataclass(frozen=True, slots=True)
class Allocate:
    """Vensim's ALLOCATE BY PRIORITY over the cells along context axis ``axis`` (the requesters):
    requester ``i`` gets ``request_i * clip((priority_i - x) / width, 0, 1)``, with the threshold
    ``x`` common to the requesters chosen so that the total is min(supply, total request) (a
    rectangular priority profile: higher priorities are served first, a gap in priority of
    ``width`` or more separates them completely). ``width`` and ``supply`` do not vary along
    ``axis``. NaN where a request is negative, the width is not positive or the supply negative."""

    request: "Expr"
    priority: "Expr"
    width: "Expr"
    supply: "Expr"
    axis: int


@dataclass(frozen=True, slots=True)
class Noise:
    """Standard noise of one RANDOM call site: a new draw per TIME STEP, cell and member."""

    site: int


Expr = Union[Num, Cells, AxisValue, Time, TimeStep, SwitchTime, ByClock, Ref, StateRef, DiscreteRef,
             InitialRef, Unary, Binary, If, Let, Bound, Lookup, Reduce, Vector, Allocate, Noise]


# ----------------------------------------------------------------------------- model parts
@dataclass(frozen=True, slots=True)
class Piece:
    """One equation of a variable over ``shape`` (its context axes): ``run`` during the run,
    ``init`` at the initial time (they differ for ACTIVE INITIAL). ``cells`` maps the piece's cells
    (C order) to the variable's flat cells; None when the piece covers the variable in its own
    order. Cells excluded by :EXCEPT: are absent from ``cells``."""

    shape: tuple[int, ...]
    run: Expr
    init: Expr
    cells: tuple[tuple[int, int], ...] | None = None


@dataclass(frozen=True, slots=True)
class Var:
    """A model variable. ``kind``: const (a parameter, from ``defaults`` or the caller; ``series``
    when this variant reads it as a time series), aux (computed from ``pieces``), lookup (tables)."""

    idx: int
    key: str
    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    kind: str
    pieces: tuple[Piece, ...] = ()
    series: bool = False
    is_stock: bool = False


@dataclass(frozen=True, slots=True)
class State:
    """One integrated quantity over ``shape``: ``d/dt = flow``, starting at ``init`` (an
    initial-time expression). ``non_negative``: the stock is clipped at zero (Vensim's
    INTEG with :NON-NEGATIVE:). ``owner`` is the variable whose equation made it."""

    sid: int
    owner: int
    shape: tuple[int, ...]
    flow: Expr
    init: Expr
    non_negative: bool = False


@dataclass(frozen=True, slots=True)
class Register:
    """A shift register of ``length`` slots over ``shape``, stepped once per TIME STEP (fixed-step
    methods only): every slot starts at ``init``; after each step, ``update`` (evaluated at the
    step's start) enters slot 0 and every other slot takes its neighbour's old value. DELAY FIXED
    (a pipeline), SAMPLE IF TRUE (one slot) and DELAY N with a varying delay time (the delay times
    travelling with the stages) are registers."""

    rid: int
    owner: int
    shape: tuple[int, ...]
    length: int
    init: Expr
    update: Expr


@dataclass(frozen=True, slots=True)
class Initial:
    """A value fixed at the initial time (Vensim's INITIAL), over ``shape``."""

    iid: int
    owner: int
    shape: tuple[int, ...]
    expr: Expr


@dataclass(frozen=True, slots=True)
class Table:
    """A lookup table: strictly increasing ``x`` and matching ``y``."""

    x: tuple[float, ...]
    y: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class SwitchSite:
    """A STEP/RAMP/PULSE/PULSE TRAIN call: adaptive solvers restart at its switch times when its
    arguments are fixed for the run. ``kind`` is step | ramp | pulse | pulse_train."""

    kind: str
    shape: tuple[int, ...]
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class NoiseSite:
    site: int
    kind: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class ModelIR:
    """Everything the printers need to know about one model variant."""

    path: str
    vars: tuple[Var, ...]
    states: tuple[State, ...]
    initials: tuple[Initial, ...]
    registers: tuple[Register, ...]
    tables: tuple[Table, ...]
    switches: tuple[SwitchSite, ...]
    noises: tuple[NoiseSite, ...]
    lookup_tables: dict = field(default_factory=dict)  # var idx -> tuple of Table per flat cell
    defaults: dict = field(default_factory=dict)  # const var idx -> np.ndarray (shape + (1,))
