"""A small recursive ray tracer: vector objects with operator overloading,
spheres and a checkered plane, two lights, Phong shading, shadows and
reflections.  Float math plus many small objects and method calls.

The scene is mirror-symmetric about x = 0 and the camera sits on that plane,
so the image must be left-right symmetric; other checks: colors in range, the
central pixel hits the central sphere, the top row shows sky.
"""

import math

from ._verify import expect, expect_close

NAME = "raytrace"
DESCRIPTION = "recursive ray tracer: Vec objects, spheres/plane, shadows, reflections (float + objects)"

WIDTH = 112
HEIGHT = 84
MAX_DEPTH = 3
EPS = 1e-9


class Vec(object):
    __slots__ = ("x", "y", "z")

    def __init__(self, x, y, z):
        self.x = x
        self.y = y
        self.z = z

    def __add__(self, o):
        return Vec(self.x + o.x, self.y + o.y, self.z + o.z)

    def __sub__(self, o):
        return Vec(self.x - o.x, self.y - o.y, self.z - o.z)

    def __mul__(self, k):
        return Vec(self.x * k, self.y * k, self.z * k)

    def __neg__(self):
        return Vec(-self.x, -self.y, -self.z)

    def dot(self, o):
        return self.x * o.x + self.y * o.y + self.z * o.z

    def hadamard(self, o):
        return Vec(self.x * o.x, self.y * o.y, self.z * o.z)

    def length(self):
        return math.sqrt(self.dot(self))

    def unit(self):
        n = self.length()
        return Vec(self.x / n, self.y / n, self.z / n)


class Material(object):
    def __init__(self, color, diffuse, specular, shininess, reflect):
        self.color = color
        self.diffuse = diffuse
        self.specular = specular
        self.shininess = shininess
        self.reflect = reflect

    def color_at(self, point):
        return self.color


class Checker(Material):
    def __init__(self, a, b, size, **kw):
        Material.__init__(self, a, **kw)
        self.other = b
        self.size = size

    def color_at(self, point):
        # Symmetric about x = 0: use |x| so mirrored points get the same square.
        i = int(math.floor(abs(point.x) / self.size))
        j = int(math.floor(point.z / self.size))
        return self.color if (i + j) % 2 == 0 else self.other


class Sphere(object):
    def __init__(self, center, radius, material):
        self.center = center
        self.radius = radius
        self.material = material

    def intersect(self, origin, direction):
        oc = origin - self.center
        b = oc.dot(direction)
        c = oc.dot(oc) - self.radius * self.radius
        disc = b * b - c
        if disc < 0:
            return None
        root = math.sqrt(disc)
        t = -b - root
        if t > EPS:
            return t
        t = -b + root
        return t if t > EPS else None

    def normal(self, point):
        return (point - self.center) * (1.0 / self.radius)


class Plane(object):
    def __init__(self, point, normal, material):
        self.point = point
        self.n = normal.unit()
        self.material = material

    def intersect(self, origin, direction):
        denom = direction.dot(self.n)
        if abs(denom) < 1e-12:
            return None
        t = (self.point - origin).dot(self.n) / denom
        return t if t > EPS else None

    def normal(self, point):
        return self.n


SKY = Vec(0.45, 0.65, 0.95)


def _scene():
    red = Material(Vec(0.9, 0.2, 0.2), diffuse=0.8, specular=0.4, shininess=30, reflect=0.25)
    mirror = Material(Vec(0.9, 0.9, 0.9), diffuse=0.2, specular=0.8, shininess=80, reflect=0.6)
    green = Material(Vec(0.2, 0.8, 0.3), diffuse=0.9, specular=0.2, shininess=10, reflect=0.1)
    floor = Checker(Vec(0.95, 0.95, 0.95), Vec(0.15, 0.15, 0.2), 1.0, diffuse=0.9, specular=0.1, shininess=5, reflect=0.2)
    objects = [
        Sphere(Vec(0.0, 1.0, 6.0), 1.0, mirror),
        Sphere(Vec(-2.2, 0.7, 7.0), 0.7, red),
        Sphere(Vec(2.2, 0.7, 7.0), 0.7, red),
        Sphere(Vec(-1.0, 0.35, 4.2), 0.35, green),
        Sphere(Vec(1.0, 0.35, 4.2), 0.35, green),
        Plane(Vec(0.0, 0.0, 0.0), Vec(0.0, 1.0, 0.0), floor),
    ]
    lights = [(Vec(-4.0, 6.0, 1.0), 0.6), (Vec(4.0, 6.0, 1.0), 0.6)]
    return objects, lights


def _nearest(objects, origin, direction):
    best_t = None
    best = None
    for obj in objects:
        t = obj.intersect(origin, direction)
        if t is not None and (best_t is None or t < best_t):
            best_t = t
            best = obj
    return best, best_t


def trace(objects, lights, origin, direction, depth):
    obj, t = _nearest(objects, origin, direction)
    if obj is None:
        return SKY * (0.5 + 0.5 * max(0.0, direction.y))
    point = origin + direction * t
    normal = obj.normal(point)
    if normal.dot(direction) > 0:
        normal = -normal
    mat = obj.material
    base = mat.color_at(point)
    color = base * 0.1  # ambient
    for light_pos, intensity in lights:
        to_light = light_pos - point
        dist = to_light.length()
        to_light = to_light * (1.0 / dist)
        shadow_obj, shadow_t = _nearest(objects, point + normal * 1e-6, to_light)
        if shadow_obj is not None and shadow_t < dist:
            continue
        lambert = normal.dot(to_light)
        if lambert > 0:
            color = color + base * (mat.diffuse * lambert * intensity)
            half = (to_light - direction).unit()
            spec = normal.dot(half)
            if spec > 0:
                s = mat.specular * intensity * spec ** mat.shininess
                color = color + Vec(s, s, s)
    if depth < MAX_DEPTH and mat.reflect > 0:
        refl_dir = direction - normal * (2.0 * direction.dot(normal))
        reflected = trace(objects, lights, point + normal * 1e-6, refl_dir, depth + 1)
        color = color * (1.0 - mat.reflect) + reflected * mat.reflect
    return color


def render(width, height):
    objects, lights = _scene()
    eye = Vec(0.0, 1.6, -1.0)
    rows = []
    half_w = (width - 1) / 2.0
    half_h = (height - 1) / 2.0
    scale = 1.0 / height
    for j in range(height):
        row = []
        for i in range(width):
            # Columns i and width-1-i get exactly mirrored x coordinates.
            x = (i - half_w) * scale
            y = (half_h - j) * scale
            direction = Vec(x, y - 0.15, 1.0).unit()
            c = trace(objects, lights, eye, direction, 0)
            row.append((min(1.0, c.x), min(1.0, c.y), min(1.0, c.z)))
        rows.append(row)
    return rows


def run(state):
    image = render(WIDTH, HEIGHT)
    return tuple(tuple(row) for row in image)


def verify(image):
    expect(len(image) == HEIGHT and all(len(r) == WIDTH for r in image), "image size")
    worst = 0.0
    for row in image:
        for i in range(WIDTH // 2):
            a, b = row[i], row[WIDTH - 1 - i]
            worst = max(worst, abs(a[0] - b[0]), abs(a[1] - b[1]), abs(a[2] - b[2]))
        for px in row:
            expect(all(0.0 <= c <= 1.0 for c in px), "color out of range: %r" % (px,))
    expect(worst < 1e-9, "image not mirror-symmetric (max diff %g)" % worst)
    # Top row: every ray misses the scene and sees the sky gradient.
    for px in image[0]:
        expect(abs(px[2] / SKY.z - px[0] / SKY.x) < 1e-9, "top row is sky")
    # The central sphere is a mirror: the pixel through its middle is not sky-tinted plain.
    objects, _ = _scene()
    eye = Vec(0.0, 1.6, -1.0)
    direction = (objects[0].center - eye).unit()
    hit, t = _nearest(objects, eye, direction)
    expect(hit is objects[0], "central ray hits the central sphere")
    expect_close(t, (objects[0].center - eye).length() - 1.0, 1e-9, "distance to central sphere")
    lum = sum(sum(px) for row in image for px in row) / (3.0 * WIDTH * HEIGHT)
    expect(0.05 < lum < 0.95, "plausible mean luminance %f" % lum)
