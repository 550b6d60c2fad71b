"""What travels from reading to checking: a return as read (RawReturn), its cells and its enterprise list.

Kept apart from both stages so that neither imports the other for its data types.
"""

from __future__ import annotations

import datetime as dt
import threading
from array import array
from contextlib import contextmanager
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Protocol

from .findings import Finding, make_finding


class Source(Protocol):
    """Where a return came from (read.sources.Source: a file, or a member of an archive)."""

    display: str  # as shown to the office: "苏州/园区.xlsx" or "打包.zip!园区.xlsx"
    mtime: dt.datetime

    def read_bytes(self) -> bytes: ...


@dataclass(slots=True)
class Cell:
    sheet: str
    coord: str
    raw: Any


_AS_TYPED = Ellipsis  # in a pickled return's cells: the raw value is its typed value (RawReturn.__getstate__)
_BY_CELL = "values by cell"  # a pickled return's typed values as a column beside its cells
_NO_FIELDS: frozenset = frozenset()  # the unreadable fields of most returns
_SHORT_TEXT = 10  # characters: a cell's text this short is pooled in the main process (RawReturn.share)
_ABSENT = object()  # (a cell without a typed value: one that could not be read as its type)


class PackedCells(Mapping):
    """A return's cells (field id -> Cell) as the main process keeps them: four columns, of which the field
    ids, sheet names and cell references are shared by every return of the same layout (RawReturn.share),
    and a Cell made only when one is asked for: at 10,000 returns a million Cell objects fewer."""

    __slots__ = ("fids", "_index", "sheets", "coords", "raws")

    def __init__(self, fids: tuple, sheets: tuple, coords: tuple, raws: tuple, index: dict | None = None):
        self.fids, self.sheets, self.coords, self.raws = fids, sheets, coords, raws
        self._index = index  # made when first needed: share() gives every return of a layout the same one

    @property
    def index(self) -> dict:
        if self._index is None:
            self._index = {f: i for i, f in enumerate(self.fids)}
        return self._index

    def __getitem__(self, fid: str) -> Cell:
        i = self.index[fid]
        return Cell(self.sheets[i], self.coords[i], self.raws[i])

    def __iter__(self):
        return iter(self.fids)

    def __len__(self) -> int:
        return len(self.fids)

    def __contains__(self, fid) -> bool:
        return fid in self.index

    def columns(self) -> tuple:
        return self.fids, self.sheets, self.coords, self.raws


class Values(MutableMapping):
    """A return's typed values (field id -> value) as the main process keeps them: a list in the order of its
    cells' layout beside that layout's index (field id -> position), which every return of the layout shares
    (RawReturn.share). A dict of its own costs a return ~2.4 KB, this ~0.8 (at 10,000 returns 16 MB fewer).
    A field of the layout without a value (one that could not be read as its type) is _ABSENT in the list; a
    value set for a field outside the layout goes to `extra`. Pickled as the plain dict it stands for."""

    __slots__ = ("index", "column", "extra")

    def __init__(self, index: dict[str, int], column: list, extra: dict | None = None):
        self.index, self.column, self.extra = index, column, extra

    def get(self, fid, default=None):
        i = self.index.get(fid)
        if i is None:
            return default if self.extra is None else self.extra.get(fid, default)
        v = self.column[i]
        return default if v is _ABSENT else v

    def __getitem__(self, fid):
        v = self.get(fid, _ABSENT)
        if v is _ABSENT:
            raise KeyError(fid)
        return v

    def __setitem__(self, fid, value) -> None:
        i = self.index.get(fid)
        if i is not None:
            self.column[i] = value
        elif self.extra is None:
            self.extra = {fid: value}
        else:
            self.extra[fid] = value

    def __delitem__(self, fid) -> None:
        i = self.index.get(fid)
        if i is not None and self.column[i] is not _ABSENT:
            self.column[i] = _ABSENT
        elif self.extra and fid in self.extra:
            del self.extra[fid]
        else:
            raise KeyError(fid)

    def __iter__(self):
        column = self.column
        yield from (f for f, i in self.index.items() if column[i] is not _ABSENT)
        if self.extra:
            yield from self.extra

    def __len__(self) -> int:
        return sum(v is not _ABSENT for v in self.column) + (len(self.extra) if self.extra else 0)

    def __contains__(self, fid) -> bool:
        return self.get(fid, _ABSENT) is not _ABSENT

    def picked(self, fids: Sequence[str], getter: Callable | None) -> list:
        """The values of `fids` in their order, None where there is none: list(map(self.get, fids)) in C.
        `getter`: Values.positions of this return's index and `fids`; None to look each field up."""
        if getter is None or self.extra:
            return list(map(self.get, fids))
        row = getter(self.column)
        return [None if v is _ABSENT else v for v in row] if _ABSENT in row else list(row)

    @staticmethod
    def positions(index: dict[str, int], fids: Sequence[str]) -> Callable | None:
        """A getter of the fields' values, as a tuple, from a column of `index` (for picked); None where a field is
        not in the index, or for fewer than two fields (itemgetter of one gives its value, not a tuple)."""
        at = [index.get(f) for f in fids]
        if None in at or len(at) < 2:
            return None
        return itemgetter(*at)

    def copy(self) -> dict:
        return dict(self.items())

    def __reduce__(self):
        return dict, (self.copy(),)

    def __repr__(self) -> str:
        return f"Values({self.copy()!r})"


def value_rows(values: Iterable, fids: list[str]) -> list[list]:
    """The values of `fids` of each return's values (a Values or a dict), None where it has none: row by row, the
    getter of each layout made once (Values.positions)."""
    getters: dict[int, Any] = {}  # id of a layout's index -> its getter (every index is alive meanwhile: its id names it)
    rows = []
    for v in values:
        if not isinstance(v, Values):
            rows.append(list(map(v.get, fids)))
            continue
        key = id(v.index)
        getter = getters[key] if key in getters else getters.setdefault(key, Values.positions(v.index, fids))
        rows.append(v.picked(fids, getter))
    return rows


class TextCodes(Sequence):
    """A list column of few distinct texts as the main process keeps it: each row's number in a table of texts
    that every return of the batch shares (RawReturn.share; 0 is None), two bytes a row instead of a pointer
    of eight and a list. Pickled as the plain list of its texts: the table is the batch's, not the return's."""

    __slots__ = ("codes", "table")

    def __init__(self, codes: array, table: list):
        self.codes, self.table = codes, table

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self.table[c] for c in self.codes[k]]
        return self.table[self.codes[k]]

    def __iter__(self):
        return map(self.table.__getitem__, self.codes)

    def to_pylist(self) -> list:
        """Its texts as a list (as an Arrow array gives its values)."""
        return list(self)

    def __eq__(self, other) -> bool:
        return isinstance(other, (list, TextCodes)) and list(self) == list(other)

    def __reduce__(self):
        return list, (self.to_pylist(),)

    @staticmethod
    def joined(columns) -> tuple[list, Any] | None:
        """(the table, the rows' numbers one column after another as one numpy array) of list columns that are
        all TextCodes of one table, the empty ones left out; None for any other columns."""
        import numpy as np

        filled = [c for c in columns if len(c)]
        table = filled[0].table if filled and isinstance(filled[0], TextCodes) else None
        if table is None or not all(isinstance(c, TextCodes) and c.table is table for c in filled):
            return None
        return table, np.concatenate([np.frombuffer(c.codes, dtype=np.uint32 if c.codes.typecode == "I" else np.uint16)
                                      for c in filled])

    @classmethod
    def of(cls, texts: list, pool: dict) -> "TextCodes | list":
        """`texts` numbered in the pool's table (made on first use); a column holding anything but texts and
        None (made by hand) stays the list it is."""
        table, number = pool.get(_TEXT_TABLE) or pool.setdefault(_TEXT_TABLE, ([None], {None: 0}))
        codes = list(map(number.get, texts))  # (in C: the main process numbers most of a million rows)
        if None in codes:  # texts not yet in the table
            for k, c in enumerate(codes):
                if c is None:
                    t = texts[k]
                    if t.__class__ is not str:
                        return texts
                    c = number.get(t)
                    if c is None:
                        c = number[t] = len(table)
                        table.append(t)
                    codes[k] = c
        return cls(array("H" if len(table) <= 0xFFFF else "I", codes), table)


_TEXT_TABLE = ("list texts",)  # the pool's key of the table TextCodes number their texts in


class Layouts:
    """The layouts of cells (PackedCells' field ids, sheets and cell references) that have crossed one worker's
    connection, numbered in the order they first did: a return pickled while the connection's Layouts is
    current() carries the number of a layout sent before instead of its three tuples of some hundred texts
    (a fifth of what a return sends), and the main process, unpickling it under its own Layouts for that
    connection, puts the tuples it has back (the same objects for every return of the layout)."""

    _here = threading.local()  # .layouts: the connection's, while this thread sends or receives a return

    def __init__(self):
        self.numbers: dict[tuple[int, int, int], int] = {}  # (ids of the three tuples) -> number (the sender's)
        self.known: list[tuple] = []  # number -> (fids, sheets, coords); keeps the tuples, and so their ids
        self.indexes: list[dict] = []  # number -> its field ids' index (the receiver's): one for every return of it

    @contextmanager
    def over(self):
        """Pickle or unpickle with this connection's layouts; a send that fails forgets what it would have taught."""
        was, sent = Layouts.current(), len(self.known)
        Layouts._here.layouts = self
        try:
            yield
        except BaseException:
            for layout in self.known[sent:]:
                self.numbers.pop(tuple(map(id, layout)), None)
            del self.known[sent:]
            raise
        finally:
            Layouts._here.layouts = was

    @staticmethod
    def current() -> "Layouts | None":
        return getattr(Layouts._here, "layouts", None)

    def packed(self, fids: tuple, sheets: tuple, coords: tuple, raws: tuple) -> tuple:
        """What a return's cells pickle as: (number, raws) for a layout sent before, else (number, fids, sheets,
        coords, raws), the first time."""
        key = (id(fids), id(sheets), id(coords))
        n = self.numbers.get(key)
        if n is not None:
            return n, raws
        self.numbers[key] = n = len(self.known)
        self.known.append((fids, sheets, coords))
        return n, fids, sheets, coords, raws

    def unpacked(self, packed: tuple) -> tuple:
        """(fids, sheets, coords, raws, the field ids' index) again."""
        if len(packed) == 2:
            n = packed[0]
            return (*self.known[n], packed[1], self.indexes[n])
        n, fids, sheets, coords, raws = packed
        if n != len(self.known):
            raise ValueError(f"layout {n} out of order")
        self.known.append((fids, sheets, coords))
        self.indexes.append(index := {f: i for i, f in enumerate(fids)})
        return fids, sheets, coords, raws, index


@dataclass(slots=True)
class EnterpriseRows:
    """A return's enterprise list, column by column: a list of a few hundred rows costs a few Python
    lists, not a few hundred objects (at 10,000 returns there are most of a million rows).

    As read, `columns` holds the raw cell values by column id; normalize.normalise_list replaces
    them by the normalised columns the checker uses (and sets `normalised`): a column of texts that
    repeat (categories, industry codes) as a list, which share() makes TextCodes in the main process; a column
    of mostly distinct texts (names, credit codes) or of flags as a pyarrow array (its characters in one
    buffer: ~30 bytes an entry instead of ~120), and `rows` as a range (or an array of ints)."""
    sheet: str = ""
    letters: dict[str, str] = field(default_factory=dict)  # column id -> column letter
    rows: Sequence[int] = field(default_factory=list)  # worksheet row of each entry
    columns: dict[str, Any] = field(default_factory=dict)  # column id -> list, TextCodes or pyarrow.Array
    normalised: bool = False
    repetitive: tuple[str, ...] = ()  # normalised columns of few distinct texts, which share() pools
    notes: dict[int, str] = field(default_factory=dict)  # worksheet row -> the row's 情况说明, where one is written

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, key: str) -> list:
        """One column's values as Python objects."""
        values = self.columns[key]
        return values if isinstance(values, list) else values.to_pylist()

    def records(self) -> list[dict[str, Any]]:
        """One dict per row (column id -> value): for tests, the Word form and other small lists."""
        keys = list(self.columns)
        return [dict(zip(keys, vals)) for vals in zip(*(self.column(k) for k in keys))] if keys else []


@dataclass
class RawReturn:
    source: Source
    category: str | None = None
    template_version: str | None = None
    fingerprint: str | None = None
    park_id: str | None = None
    cells: Mapping[str, Cell] = field(default_factory=dict)  # PackedCells once it has travelled from a worker
    enterprises: EnterpriseRows = field(default_factory=EnterpriseRows)
    values: dict[str, Any] | None = None  # typed values, once normalised (normalize.normalise_return)
    unreadable: frozenset[str] = frozenset()  # fields whose value could not be read as its type
    # (format, text, verdict) of the phone numbers and e-mail addresses, judged by the reading worker, so
    # that the checker's phone and email checks find them known (check.checks.learn)
    judged: tuple[tuple[str, str, bool], ...] = ()
    findings: list[Finding] = field(default_factory=list)
    located_by: str = "names"
    readable: bool = True

    def share(self, pool: dict, coded: bool = True) -> "RawReturn":
        """Make equal sheet names, cell references, list texts and (in the main process) the cells' short texts and
        the layout's index one object each, across every return given the same pool: at 10,000 returns this saves
        a few hundred MB, and a return
        pickled by a worker carries each of its sheet names once. `coded`: the list's repeated texts
        as TextCodes (the main process); a reading worker pools them as lists (pickle sends each once)."""
        if not self.unreadable:
            self.unreadable = _NO_FIELDS  # (each return unpickled had one of its own)
        cells = self.cells
        if isinstance(cells, PackedCells):  # the columns of equal layouts become one object each
            fids, sheets, coords = (pool.setdefault(("cells", col), col) for col in (cells.fids, cells.sheets,
                                                                                   cells.coords))
            index = pool.get(("index", fids)) or pool.setdefault(("index", fids), cells.index)
            self.cells = PackedCells(fids, sheets, coords, cells.raws, index)
            if isinstance(self.values, Values):  # (the main process: a worker's typed values are its dict)
                if self.values.index is not index:
                    self.values.index = index  # (the same positions: the index of equal field ids)
                self._pool_short_texts(pool)
        else:
            for c in cells.values():
                c.sheet = pool.setdefault(c.sheet, c.sheet)
                c.coord = pool.setdefault(c.coord, c.coord)
        e = self.enterprises
        e.sheet = pool.setdefault(e.sheet, e.sheet)
        letters = tuple(e.letters.items())
        e.letters = pool.setdefault(letters, e.letters)
        for k in e.repetitive:
            column = e.columns[k]
            if coded and not isinstance(column, TextCodes):
                e.columns[k] = TextCodes.of(column, pool)
            elif not coded:
                e.columns[k] = [pool.setdefault(v, v) if v is not None else None for v in column]
        return self

    def _pool_short_texts(self, pool: dict) -> None:
        """The short texts of the cells (a choice, a region, a title: the same in many returns) one object
        each across the batch, in the cells and the typed values alike (at 10,000 returns some 5 MB)."""
        cells, column = self.cells, self.values.column
        raws = list(cells.raws)
        for k, r in enumerate(raws):
            if r.__class__ is str and len(r) <= _SHORT_TEXT:
                one = pool.setdefault(r, r)
                if one is not r:
                    raws[k] = one
                    if column[k] is r:
                        column[k] = one
        cells.raws = tuple(raws)
        for name in ("category", "template_version", "located_by"):
            v = getattr(self, name)
            if v.__class__ is str:
                setattr(self, name, pool.setdefault(v, v))

    def __getstate__(self) -> dict:
        """Pickled by the reading workers: the cells as four columns (one object for pickle to walk
        instead of one per cell), and the typed values, where they are the cells' (as read, before the check
        adds its own), as a column beside them: no field id written again, none made again on arrival (at
        10,000 returns some 800,000 texts fewer in the main process)."""
        state = self.__dict__.copy()
        cells = state.pop("cells")
        if isinstance(cells, PackedCells):
            fids, sheets, coords, raws = cells.columns()
        else:
            values = list(cells.values())
            fids, sheets, coords, raws = (tuple(cells), tuple(c.sheet for c in values),
                                          tuple(c.coord for c in values), tuple(c.raw for c in values))
        typed = self.values
        if typed:
            column = tuple(typed.get(f, _ABSENT) for f in fids)
            absent = tuple(f for f, v in zip(fids, column) if v is _ABSENT)
            if len(fids) - len(absent) == len(typed):  # every typed value a cell's
                state["values"] = (_BY_CELL, tuple(None if v is _ABSENT else v for v in column) if absent else column,
                                   absent)
                # a number read as it was is one object in both places, but pickle writes a float each time
                raws = tuple(_AS_TYPED if r.__class__ is float and r is v else r for r, v in zip(raws, column))
        link = Layouts.current()
        if link is not None and isinstance(cells, PackedCells):  # sent by a worker: a layout sent before by its
            state["cells_packed"] = link.packed(fids, sheets, coords, raws)  # number (cells found by their labels
        else:  # are the return's own: sent whole, kept on neither side)
            state["cells_packed"] = (fids, sheets, coords, raws)
        return state

    def __setstate__(self, state: dict) -> None:
        packed = state.pop("cells_packed")
        if len(packed) == 4:
            fids, sheets, coords, raws = packed
            index = {f: i for i, f in enumerate(fids)}
        elif (link := Layouts.current()) is not None:
            fids, sheets, coords, raws, index = link.unpacked(packed)
        else:
            raise ValueError("a return's cells sent by their layout's number, read outside its connection")
        values = state["values"]
        if values.__class__ is tuple and values and values[0] == _BY_CELL:
            _, column, absent = values
            column = list(column)
            if absent:
                for f in absent:
                    column[index[f]] = _ABSENT
            state["values"] = Values(index, column)
            # (one object again: at 10,000 returns some 400,000 floats fewer)
            raws = tuple([v if r is _AS_TYPED else r for r, v in zip(raws, column)])
        state["cells"] = PackedCells(fids, sheets, coords, raws, index)
        self.__dict__.update(state)

    def release(self) -> None:
        """Drop the cells and list rows as read, once the batch is checked: findings carry their
        sheet and cell, the checked values and the batch's list frame carry the rest."""
        self.cells = {}
        self.enterprises = EnterpriseRows(self.enterprises.sheet, self.enterprises.letters)

    def fail(self, code: str, **kw) -> "RawReturn":
        self.readable = False
        self.findings.append(make_finding(code, file=self.source.display, **kw))
        return self


