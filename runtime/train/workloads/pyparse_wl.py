"""Python-source tooling: tokenize, ast.parse, NodeVisitor/NodeTransformer,
compile/exec, ast.unparse.

Randomly generated functions are executed both as compiled bytecode and by a
small tree-walking interpreter over their AST; results must agree.  Constant
folding must not change results; tokenize/untokenize and parse/unparse must
round-trip.  The workload sources themselves are parsed as real-world input.
"""

import ast
import glob
import io
import os
import random
import tokenize

from ._common import VerificationError, check, check_eq, scaled

NAME = "pyparse"
DESCRIPTION = "tokenize, ast.parse, visitors/transformers, compile/exec vs a tree-walking interpreter"

_BINOPS = ["+", "-", "*", "//", "%"]
_CMPOPS = ["<", "<=", ">", ">=", "==", "!="]


def _gen_expr(rng, names, depth):
    if depth == 0 or rng.random() < 0.3:
        return rng.choice(names) if rng.random() < 0.6 else str(rng.randint(0, 20))
    op = rng.choice(_BINOPS)
    left = _gen_expr(rng, names, depth - 1)
    right = _gen_expr(rng, names, depth - 1)
    if op in ("//", "%"):
        right = "(%s or 1)" % right
    if rng.random() < 0.1:
        return "-(%s %s %s)" % (left, op, right)
    return "(%s %s %s)" % (left, op, right)


def _gen_cond(rng, names):
    cond = "%s %s %s" % (_gen_expr(rng, names, 2), rng.choice(_CMPOPS), _gen_expr(rng, names, 2))
    if rng.random() < 0.3:
        cond = "%s %s %s" % (cond, rng.choice(["and", "or"]), _gen_expr(rng, names, 1))
    if rng.random() < 0.2:
        cond = "not (%s)" % cond
    return cond


def gen_function(rng, name):
    args = ["a", "b", "c"]
    lines = ["def %s(a, b, c):" % name, "    x = %s" % _gen_expr(rng, args, 3)]
    names = args + ["x"]
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(3)
        if kind == 0:
            lines.append("    if %s:" % _gen_cond(rng, names))
            lines.append("        x = %s" % _gen_expr(rng, names, 2))
            lines.append("    else:")
            lines.append("        x = x - %s" % _gen_expr(rng, names, 2))
        elif kind == 1:
            lines.append("    for i in range(%d):" % rng.randint(0, 8))
            lines.append("        x = (x * 3 + i - %s) %% 1000003" % _gen_expr(rng, names, 1))
        else:
            lines.append("    while x > %d:" % rng.randint(100, 10000))
            lines.append("        x = x // 2")
    lines.append("    return x")
    return "\n".join(lines) + "\n"


class _Return(Exception):
    def __init__(self, value):
        self.value = value


_BIN = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
        ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b}
_CMP = {ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b,
        ast.GtE: lambda a, b: a >= b, ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b}


class TreeInterpreter(object):
    """Executes the subset of Python the generator produces."""

    def __init__(self, func_def):
        self.func = func_def
        self.steps = 0

    def call(self, *args):
        env = dict(zip([a.arg for a in self.func.args.args], args))
        try:
            self.block(self.func.body, env)
        except _Return as ret:
            return ret.value
        return None

    def block(self, stmts, env):
        for stmt in stmts:
            self.steps += 1
            kind = type(stmt)
            if kind is ast.Assign:
                env[stmt.targets[0].id] = self.expr(stmt.value, env)
            elif kind is ast.If:
                self.block(stmt.body if self.expr(stmt.test, env) else stmt.orelse, env)
            elif kind is ast.For:
                for value in range(*[self.expr(a, env) for a in stmt.iter.args]):
                    env[stmt.target.id] = value
                    self.block(stmt.body, env)
            elif kind is ast.While:
                while self.expr(stmt.test, env):
                    self.block(stmt.body, env)
            elif kind is ast.Return:
                raise _Return(self.expr(stmt.value, env))
            else:
                raise VerificationError("unsupported statement %s" % kind.__name__)

    def expr(self, node, env):
        kind = type(node)
        if kind is ast.Name:
            return env[node.id]
        if kind is ast.Constant:
            return node.value
        if kind is ast.BinOp:
            return _BIN[type(node.op)](self.expr(node.left, env), self.expr(node.right, env))
        if kind is ast.UnaryOp:
            value = self.expr(node.operand, env)
            return -value if isinstance(node.op, ast.USub) else (not value)
        if kind is ast.Compare:
            left = self.expr(node.left, env)
            for op, comp in zip(node.ops, node.comparators):
                right = self.expr(comp, env)
                if not _CMP[type(op)](left, right):
                    return False
                left = right
            return True
        if kind is ast.BoolOp:
            is_and = isinstance(node.op, ast.And)
            value = None
            for v in node.values:
                value = self.expr(v, env)
                if is_and and not value:
                    return value
                if not is_and and value:
                    return value
            return value
        raise VerificationError("unsupported expression %s" % kind.__name__)


class ConstantFolder(ast.NodeTransformer):
    def __init__(self):
        self.folded = 0

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.left, ast.Constant) and isinstance(node.right, ast.Constant):
            try:
                value = _BIN[type(node.op)](node.left.value, node.right.value)
            except ZeroDivisionError:
                return node
            self.folded += 1
            return ast.copy_location(ast.Constant(value=value), node)
        return node


class Stats(ast.NodeVisitor):
    def __init__(self):
        self.counts = {}
        self.names = set()
        self.defs = []

    def generic_visit(self, node):
        key = type(node).__name__
        self.counts[key] = self.counts.get(key, 0) + 1
        ast.NodeVisitor.generic_visit(self, node)

    def visit_Name(self, node):
        self.names.add(node.id)
        self.generic_visit(node)

    def visit_FunctionDef(self, node):
        self.defs.append(node.name)
        self.generic_visit(node)


def _token_pairs(source):
    return [(t.type, t.string) for t in tokenize.generate_tokens(io.StringIO(source).readline)
            if t.type not in (tokenize.NL, tokenize.COMMENT)]


def run(scale):
    rng = random.Random(31337)
    rounds = scaled(7, scale)
    n_funcs = 0
    steps = 0
    has_unparse = hasattr(ast, "unparse")
    for r in range(rounds):
        sources = [gen_function(rng, "f%d_%d" % (r, k)) for k in range(40)]
        module_src = "\n".join(sources)
        tree = ast.parse(module_src, filename="<generated>")
        namespace = {}
        exec(compile(tree, "<generated>", "exec"), namespace)
        folder = ConstantFolder()
        folded_tree = ast.fix_missing_locations(folder.visit(ast.parse(module_src)))
        folded_ns = {}
        exec(compile(folded_tree, "<folded>", "exec"), folded_ns)
        for func_def in tree.body:
            interp = TreeInterpreter(func_def)
            compiled = namespace[func_def.name]
            for _ in range(6):
                args = (rng.randint(-50, 50), rng.randint(-50, 50), rng.randint(0, 50))
                want = compiled(*args)
                check_eq(interp.call(*args), want, "%s%r tree-walk vs bytecode" % (func_def.name, args))
                check_eq(folded_ns[func_def.name](*args), want, "%s%r after constant folding" % (func_def.name, args))
            steps += interp.steps
            n_funcs += 1
        # Token round trip.
        check_eq(_token_pairs(tokenize.untokenize(tokenize.generate_tokens(io.StringIO(module_src).readline))),
                 _token_pairs(module_src), "untokenize round trip")
        if has_unparse:
            check_eq(ast.dump(ast.parse(ast.unparse(tree))), ast.dump(tree), "parse(unparse(tree))")
        stats = Stats()
        stats.visit(tree)
        check_eq(len(stats.defs), 40, "function definitions visited")
        check(stats.names <= {"a", "b", "c", "x", "i", "range"}, "only generated names: %r" % stats.names)

    # Real-world input: the workload sources themselves.
    here = os.path.dirname(os.path.abspath(__file__))
    files = sorted(glob.glob(os.path.join(here, "*.py")))
    n_tokens = 0
    for _ in range(max(1, rounds // 5)):
        for path in files:
            with tokenize.open(path) as fh:
                source = fh.read()
            tree = ast.parse(source, filename=path)
            compile(tree, path, "exec")
            stats = Stats()
            stats.visit(tree)
            check(stats.counts.get("Module") == 1, "one Module node in %s" % path)
            if has_unparse:
                check_eq(ast.dump(ast.parse(ast.unparse(tree))), ast.dump(tree), "unparse %s" % os.path.basename(path))
            toks = list(tokenize.generate_tokens(io.StringIO(source).readline))
            check_eq(toks[-1].type, tokenize.ENDMARKER, "token stream ends with ENDMARKER")
            n_tokens += len(toks)
    try:
        ast.parse("def broken(:\n    pass\n")
    except SyntaxError as exc:
        check_eq(exc.lineno, 1, "syntax error line")
    else:
        raise VerificationError("broken source parsed")
    check_eq(ast.literal_eval("{'a': [1, 2.5, (3, None)], 'b': -4j}"), {"a": [1, 2.5, (3, None)], "b": -4j}, "literal_eval")
    return "%d generated functions (%d interpreted statements), %d tokens of real source" % (n_funcs, steps, n_tokens)
