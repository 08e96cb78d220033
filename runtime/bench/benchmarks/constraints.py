"""An incremental constraint-hierarchy solver using local propagation with
walkabout strengths (DeltaBlue-like; written from the published idea, not
from any existing benchmark source).

Variables are connected by equality and linear (scale/offset) constraints of
varying strength; edit constraints drive values through extracted plans.
The chain and projection scenarios have closed-form answers checked in
verify().
"""

import collections

from ._verify import BenchmarkError, expect_eq

NAME = "constraints"
DESCRIPTION = "DeltaBlue-like incremental constraint solver (OO, lists, polymorphic dispatch)"

REQUIRED, STRONG_PREFERRED, PREFERRED, STRONG_DEFAULT, NORMAL, WEAK_DEFAULT, WEAKEST = range(7)
CHAIN = 1000
PROJECTION = 1000
ROUNDS = 8


def stronger(a, b):
    return a < b


class Var(object):
    __slots__ = ("name", "value", "constraints", "determined_by", "mark", "walk_strength", "stay")

    def __init__(self, name, value=0):
        self.name = name
        self.value = value
        self.constraints = []
        self.determined_by = None
        self.mark = 0
        self.walk_strength = WEAKEST
        self.stay = True


class Constraint(object):
    def __init__(self, solver, strength):
        self.solver = solver
        self.strength = strength

    def install(self):
        self.add_to_graph()
        self.solver.incremental_add(self)
        return self

    def uninstall(self):
        if self.is_satisfied():
            self.solver.incremental_remove(self)
        else:
            self.remove_from_graph()

    def is_input(self):
        return False

    def satisfy(self, mark):
        self.choose_method(mark)
        if not self.is_satisfied():
            if self.strength == REQUIRED:
                raise BenchmarkError("required constraint cannot be satisfied")
            return None
        self.mark_inputs(mark)
        out = self.output()
        overridden = out.determined_by
        if overridden is not None:
            overridden.mark_unsatisfied()
        out.determined_by = self
        if not self.solver.add_propagate(self, mark):
            raise BenchmarkError("constraint cycle")
        out.mark = mark
        return overridden


class Unary(Constraint):
    def __init__(self, solver, var, strength):
        Constraint.__init__(self, solver, strength)
        self.var = var
        self.satisfied = False
        self.install()

    def add_to_graph(self):
        self.var.constraints.append(self)
        self.satisfied = False

    def remove_from_graph(self):
        self.var.constraints.remove(self)
        self.satisfied = False

    def choose_method(self, mark):
        v = self.var
        self.satisfied = v.mark != mark and stronger(self.strength, v.walk_strength)

    def is_satisfied(self):
        return self.satisfied

    def mark_inputs(self, mark):
        pass

    def inputs_known(self, mark):
        return True

    def output(self):
        return self.var

    def mark_unsatisfied(self):
        self.satisfied = False

    def recalculate(self):
        v = self.var
        v.walk_strength = self.strength
        v.stay = not self.is_input()
        if v.stay:
            self.execute()

    def execute(self):
        pass


class Stay(Unary):
    pass


class Edit(Unary):
    def is_input(self):
        return True


FORWARD, BACKWARD = 1, 2


class Binary(Constraint):
    def __init__(self, solver, a, b, strength):
        Constraint.__init__(self, solver, strength)
        self.a = a
        self.b = b
        self.direction = None

    def vars(self):
        return (self.a, self.b)

    def add_to_graph(self):
        for v in self.vars():
            v.constraints.append(self)
        self.direction = None

    def remove_from_graph(self):
        for v in self.vars():
            if self in v.constraints:
                v.constraints.remove(self)
        self.direction = None

    def choose_method(self, mark):
        a, b, s = self.a, self.b, self.strength
        if a.mark == mark:
            self.direction = FORWARD if b.mark != mark and stronger(s, b.walk_strength) else None
        elif b.mark == mark:
            self.direction = BACKWARD if stronger(s, a.walk_strength) else None
        elif stronger(b.walk_strength, a.walk_strength):
            # a is the weaker end: write to it if we can.
            self.direction = BACKWARD if stronger(s, a.walk_strength) else None
        else:
            self.direction = FORWARD if stronger(s, b.walk_strength) else None

    def is_satisfied(self):
        return self.direction is not None

    def mark_unsatisfied(self):
        self.direction = None

    def input(self):
        return self.a if self.direction == FORWARD else self.b

    def output(self):
        return self.b if self.direction == FORWARD else self.a

    def mark_inputs(self, mark):
        self.input().mark = mark

    def inputs_known(self, mark):
        i = self.input()
        return i.mark == mark or i.stay or i.determined_by is None

    def recalculate(self):
        i, out = self.input(), self.output()
        out.walk_strength = max(self.strength, i.walk_strength)
        out.stay = i.stay
        if out.stay:
            self.execute()


class Equal(Binary):
    def execute(self):
        self.output().value = self.input().value


class Linear(Binary):
    """b = a * scale + offset, with scale and offset themselves variables."""

    def __init__(self, solver, a, scale, offset, b, strength):
        Binary.__init__(self, solver, a, b, strength)
        self.scale = scale
        self.offset = offset
        self.install()

    def vars(self):
        return (self.a, self.b, self.scale, self.offset)

    def mark_inputs(self, mark):
        Binary.mark_inputs(self, mark)
        self.scale.mark = self.offset.mark = mark

    def recalculate(self):
        i, out = self.input(), self.output()
        out.walk_strength = max(self.strength, i.walk_strength)
        out.stay = i.stay and self.scale.stay and self.offset.stay
        if out.stay:
            self.execute()

    def execute(self):
        if self.direction == FORWARD:
            self.b.value = self.a.value * self.scale.value + self.offset.value
        else:
            q, r = divmod(self.b.value - self.offset.value, self.scale.value)
            if r:
                raise BenchmarkError("inexact backward projection")
            self.a.value = q


class Solver(object):
    def __init__(self):
        self.mark = 0

    def new_mark(self):
        self.mark += 1
        return self.mark

    def incremental_add(self, c):
        mark = self.new_mark()
        overridden = c.satisfy(mark)
        while overridden is not None:
            overridden = overridden.satisfy(mark)

    def incremental_remove(self, c):
        out = c.output()
        c.mark_unsatisfied()
        c.remove_from_graph()
        unsatisfied = self.remove_propagate_from(out)
        for strength in range(REQUIRED, WEAKEST + 1):
            for u in unsatisfied:
                if u.strength == strength:
                    self.incremental_add(u)

    def add_propagate(self, c, mark):
        todo = [c]
        while todo:
            d = todo.pop()
            if d.output().mark == mark:
                self.incremental_remove(c)
                return False
            d.recalculate()
            self.add_consumers(d.output(), todo)
        return True

    def remove_propagate_from(self, out):
        out.determined_by = None
        out.walk_strength = WEAKEST
        out.stay = True
        unsatisfied = []
        todo = [out]
        while todo:
            v = todo.pop()
            for c in v.constraints:
                if not c.is_satisfied():
                    unsatisfied.append(c)
            determining = v.determined_by
            for c in v.constraints:
                if c is not determining and c.is_satisfied():
                    c.recalculate()
                    todo.append(c.output())
        return unsatisfied

    @staticmethod
    def add_consumers(v, todo):
        determining = v.determined_by
        for c in v.constraints:
            if c is not determining and c.is_satisfied():
                todo.append(c)

    def plan_for(self, sources):
        mark = self.new_mark()
        plan = []
        todo = collections.deque(c for c in sources if c.is_input() and c.is_satisfied())
        while todo:
            c = todo.popleft()
            out = c.output()
            if out.mark != mark and c.inputs_known(mark):
                plan.append(c)
                out.mark = mark
                self.add_consumers(out, todo)
        return plan


def _eq(solver, a, b, strength):
    c = Equal(solver, a, b, strength)
    return c.install()


def _drive(solver, var, values):
    edit = Edit(solver, var, PREFERRED)
    plan = solver.plan_for([edit])
    for v in values:
        var.value = v
        for c in plan:
            c.execute()
    edit.uninstall()
    return len(plan)


def chain(n):
    solver = Solver()
    vs = [Var("v%d" % i) for i in range(n + 1)]
    for i in range(n):
        _eq(solver, vs[i], vs[i + 1], REQUIRED)
    Stay(solver, vs[n], STRONG_DEFAULT)
    seen = []
    edit = Edit(solver, vs[0], PREFERRED)
    plan = solver.plan_for([edit])
    for value in range(40):
        vs[0].value = value
        for c in plan:
            c.execute()
        seen.append(vs[n].value)
    edit.uninstall()
    return seen, len(plan)


def projection(n):
    solver = Solver()
    scale = Var("scale", 10)
    offset = Var("offset", 1000)
    srcs, dsts = [], []
    for i in range(n):
        src = Var("src%d" % i, i)
        dst = Var("dst%d" % i, i)
        srcs.append(src)
        dsts.append(dst)
        Stay(solver, src, NORMAL)
        Linear(solver, src, scale, offset, dst, REQUIRED)
    out = {}
    out["initial"] = [d.value for d in dsts]
    _drive(solver, srcs[0], [17])
    out["dst0_after_src_edit"] = dsts[0].value
    _drive(solver, dsts[0], [1050])
    out["src0_after_dst_edit"] = srcs[0].value
    _drive(solver, scale, [5])
    out["after_scale"] = [d.value for d in dsts]
    _drive(solver, offset, [2000])
    out["after_offset"] = [d.value for d in dsts]
    out["srcs"] = [s.value for s in srcs]
    return out


def run(state):
    results = []
    for _ in range(ROUNDS):
        results.append((chain(CHAIN), projection(PROJECTION)))
    return results


def verify(results):
    for (seen, plan_len), proj in results:
        expect_eq(seen, list(range(40)), "chain end follows the edit")
        expect_eq(plan_len, CHAIN + 1, "chain plan length")
        n = PROJECTION
        expect_eq(proj["initial"], [i * 10 + 1000 for i in range(n)], "initial projection")
        expect_eq(proj["dst0_after_src_edit"], 17 * 10 + 1000, "forward edit")
        expect_eq(proj["src0_after_dst_edit"], 5, "backward edit")
        srcs = [5] + list(range(1, n))
        expect_eq(proj["srcs"], srcs, "sources after edits")
        expect_eq(proj["after_scale"], [s * 5 + 1000 for s in srcs], "after scale edit")
        expect_eq(proj["after_offset"], [s * 5 + 2000 for s in srcs], "after offset edit")
