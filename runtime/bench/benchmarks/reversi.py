"""Board-game search: Reversi on a 6x6 board (padded 8x8 array with
sentinels) with plain negamax and alpha-beta negamax, plus an exhaustive
memoized tic-tac-toe solve.

Alpha-beta must return exactly the negamax value while visiting fewer nodes;
tic-tac-toe must come out a draw over 5478 reachable positions (a known
figure).
"""

import random

from ._verify import expect, expect_eq

NAME = "reversi"
DESCRIPTION = "6x6 Reversi negamax vs alpha-beta search + memoized tic-tac-toe solve (game-tree search)"

SIZE = 6
W = SIZE + 2
BORDER = 2
DIRS = (-W - 1, -W, -W + 1, -1, 1, W - 1, W, W + 1)
DEPTH = 4
POSITIONS = 24

_SQUARES = [(r + 1) * W + (c + 1) for r in range(SIZE) for c in range(SIZE)]


def _weights():
    w = [0] * (W * W)
    for r in range(SIZE):
        for c in range(SIZE):
            edge_r = r in (0, SIZE - 1)
            edge_c = c in (0, SIZE - 1)
            v = 1
            if edge_r and edge_c:
                v = 12
            elif edge_r or edge_c:
                v = 3
            if (r in (1, SIZE - 2)) and (c in (1, SIZE - 2)):
                v = -4
            w[(r + 1) * W + (c + 1)] = v
    return w


WEIGHTS = _weights()


def initial():
    board = [BORDER] * (W * W)
    for sq in _SQUARES:
        board[sq] = 0
    m = SIZE // 2
    board[m * W + m] = board[(m + 1) * W + m + 1] = -1
    board[m * W + m + 1] = board[(m + 1) * W + m] = 1
    return board


def flips(board, sq, player):
    out = []
    opp = -player
    for d in DIRS:
        pos = sq + d
        run = []
        while board[pos] == opp:
            run.append(pos)
            pos += d
        if run and board[pos] == player:
            out.extend(run)
    return out


def moves(board, player):
    result = []
    for sq in _SQUARES:
        if board[sq] == 0:
            f = flips(board, sq, player)
            if f:
                result.append((sq, f))
    return result


def play(board, sq, flipped, player):
    nb = board[:]
    nb[sq] = player
    for p in flipped:
        nb[p] = player
    return nb


def evaluate(board, player):
    score = 0
    for sq in _SQUARES:
        v = board[sq]
        if v:
            score += v * WEIGHTS[sq]
    return score * player


def final_score(board, player):
    return 1000 * sum(board[sq] for sq in _SQUARES) * player


class Searcher(object):
    def __init__(self):
        self.nodes = 0

    def negamax(self, board, player, depth, passed=False):
        self.nodes += 1
        if depth == 0:
            return evaluate(board, player)
        legal = moves(board, player)
        if not legal:
            if passed:
                return final_score(board, player)
            return -self.negamax(board, -player, depth - 1, True)
        best = -10 ** 9
        for sq, f in legal:
            v = -self.negamax(play(board, sq, f, player), -player, depth - 1)
            if v > best:
                best = v
        return best

    def alphabeta(self, board, player, depth, alpha, beta, passed=False):
        self.nodes += 1
        if depth == 0:
            return evaluate(board, player)
        legal = moves(board, player)
        if not legal:
            if passed:
                return final_score(board, player)
            return -self.alphabeta(board, -player, depth - 1, -beta, -alpha, True)
        # Move ordering: corners and edges first.
        legal.sort(key=lambda mv: -WEIGHTS[mv[0]])
        best = -10 ** 9
        for sq, f in legal:
            v = -self.alphabeta(play(board, sq, f, player), -player, depth - 1, -beta, -alpha)
            if v > best:
                best = v
            if best > alpha:
                alpha = best
            if alpha >= beta:
                break
        return best


def positions(count):
    rng = random.Random(6)
    out = []
    board, player = initial(), 1
    while len(out) < count:
        legal = moves(board, player)
        if not legal:
            if not moves(board, -player):
                board, player = initial(), 1
                continue
            player = -player
            continue
        sq, f = rng.choice(legal)
        board = play(board, sq, f, player)
        player = -player
        if rng.random() < 0.35:
            out.append((board, player))
    return out


def tictactoe():
    lines = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]
    memo = {}

    def winner(b):
        for a, c, d in lines:
            if b[a] and b[a] == b[c] == b[d]:
                return b[a]
        return 0

    def solve(b, player):
        key = (b, player)
        if key in memo:
            return memo[key]
        w = winner(b)
        if w:
            value = w * player
        elif 0 not in b:
            value = 0
        else:
            value = -2
            for i in range(9):
                if b[i] == 0:
                    nb = b[:i] + (player,) + b[i + 1:]
                    value = max(value, -solve(nb, -player))
        memo[key] = value
        return value

    value = solve((0,) * 9, 1)
    return value, len(set(b for b, _ in memo))


def run(state):
    results = []
    for board, player in positions(POSITIONS):
        full = Searcher()
        v1 = full.negamax(board, player, DEPTH)
        pruned = Searcher()
        v2 = pruned.alphabeta(board, player, DEPTH, -10 ** 9, 10 ** 9)
        results.append((v1, v2, full.nodes, pruned.nodes))
    ttt = tictactoe()
    return results, ttt


def verify(result):
    results, (ttt_value, ttt_positions) = result
    for v1, v2, n1, n2 in results:
        expect_eq(v2, v1, "alpha-beta value equals negamax value")
        expect(n2 <= n1, "alpha-beta visits no more nodes (%d vs %d)" % (n2, n1))
    expect(sum(r[3] for r in results) < sum(r[2] for r in results), "pruning happened")
    expect_eq(ttt_value, 0, "tic-tac-toe is a draw")
    expect_eq(ttt_positions, 5478, "reachable tic-tac-toe positions")
