"""Gravitational N-body integration (kick-drift-kick leapfrog) on a seeded
synthetic planetary system.  Float arithmetic on lists.

Verified by physics: energy drift stays tiny, linear momentum stays zero and
angular momentum is conserved to rounding error.
"""

import math
import random

from ._verify import expect

NAME = "nbody"
DESCRIPTION = "leapfrog N-body integration of a synthetic planetary system (float math)"

STEPS = 12000
DT = 0.002


def _system():
    rng = random.Random(1)
    star_mass = 1000.0
    bodies = [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, star_mass]]
    for k in range(6):
        r = 4.0 + 3.5 * k + rng.random()
        phase = rng.uniform(0, 2 * math.pi)
        incl = rng.uniform(-0.05, 0.05)
        speed = math.sqrt(star_mass / r)
        mass = rng.uniform(0.01, 1.5)
        x, y, z = r * math.cos(phase), r * math.sin(phase), r * incl
        vx, vy, vz = -speed * math.sin(phase), speed * math.cos(phase), 0.0
        bodies.append([x, y, z, vx, vy, vz, mass])
    # Zero total momentum by giving the star a recoil velocity.
    px = sum(b[3] * b[6] for b in bodies)
    py = sum(b[4] * b[6] for b in bodies)
    pz = sum(b[5] * b[6] for b in bodies)
    bodies[0][3] = -px / star_mass
    bodies[0][4] = -py / star_mass
    bodies[0][5] = -pz / star_mass
    return bodies


def energy(bodies):
    e = 0.0
    n = len(bodies)
    for i in range(n):
        x, y, z, vx, vy, vz, m = bodies[i]
        e += 0.5 * m * (vx * vx + vy * vy + vz * vz)
        for j in range(i + 1, n):
            b = bodies[j]
            dx, dy, dz = x - b[0], y - b[1], z - b[2]
            e -= m * b[6] / math.sqrt(dx * dx + dy * dy + dz * dz)
    return e


def momentum(bodies):
    return (sum(b[3] * b[6] for b in bodies), sum(b[4] * b[6] for b in bodies), sum(b[5] * b[6] for b in bodies))


def angular_momentum(bodies):
    lx = ly = lz = 0.0
    for x, y, z, vx, vy, vz, m in bodies:
        lx += m * (y * vz - z * vy)
        ly += m * (z * vx - x * vz)
        lz += m * (x * vy - y * vx)
    return lx, ly, lz


def _accelerate(bodies, pairs, half_dt):
    for a, b in pairs:
        dx = a[0] - b[0]
        dy = a[1] - b[1]
        dz = a[2] - b[2]
        d2 = dx * dx + dy * dy + dz * dz
        inv3 = half_dt / (d2 * math.sqrt(d2))
        fa = b[6] * inv3
        fb = a[6] * inv3
        a[3] -= dx * fa
        a[4] -= dy * fa
        a[5] -= dz * fa
        b[3] += dx * fb
        b[4] += dy * fb
        b[5] += dz * fb


def run(state):
    bodies = _system()
    pairs = [(bodies[i], bodies[j]) for i in range(len(bodies)) for j in range(i + 1, len(bodies))]
    e0 = energy(bodies)
    l0 = angular_momentum(bodies)
    half = DT / 2.0
    for _ in range(STEPS):
        _accelerate(bodies, pairs, half)
        for b in bodies:
            b[0] += DT * b[3]
            b[1] += DT * b[4]
            b[2] += DT * b[5]
        _accelerate(bodies, pairs, half)
    return (e0, energy(bodies), momentum(bodies), l0, angular_momentum(bodies),
            tuple(round(c, 9) for b in bodies for c in b[:3]))


def verify(result):
    e0, e1, p, l0, l1, _ = result
    expect(e0 < 0, "bound system has negative energy")
    expect(abs((e1 - e0) / e0) < 1e-5, "energy drift %g" % ((e1 - e0) / e0))
    expect(max(abs(c) for c in p) < 1e-9, "momentum not conserved: %r" % (p,))
    lnorm = math.sqrt(sum(c * c for c in l0))
    expect(max(abs(a - b) for a, b in zip(l0, l1)) < 1e-9 * lnorm, "angular momentum not conserved")
