"""Dict- and class-heavy code: a small ORM-like model layer.

Descriptors with validation, a metaclass collecting fields, properties,
classmethods, ``__slots__`` and plain classes, dataclasses, abstract base
classes, inheritance with ``super()``, and a lazy chainable query set.  Query
results are compared with the same questions answered over raw tuples.
"""

import abc
import dataclasses
import operator
import random

from ._common import VerificationError, check, check_eq, scaled

NAME = "objects"
DESCRIPTION = "ORM-like models: descriptors, metaclass, properties, __slots__, dataclasses, inheritance, query sets"


class ValidationError(ValueError):
    pass


class Field(object):
    kind = object

    def __init__(self, default=None, null=False, index=False):
        self.default = default
        self.null = null
        self.index = index
        self.name = None

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner):
        if instance is None:
            return self
        return instance.__dict__.get(self.name, self.default)

    def __set__(self, instance, value):
        instance.__dict__[self.name] = self.clean(value)

    def clean(self, value):
        if value is None:
            if not self.null:
                raise ValidationError("%s may not be null" % self.name)
            return None
        if not isinstance(value, self.kind):
            raise ValidationError("%s expects %s, got %r" % (self.name, self.kind.__name__, value))
        return value


class IntField(Field):
    kind = int

    def __init__(self, min_value=None, max_value=None, **kw):
        Field.__init__(self, **kw)
        self.min_value = min_value
        self.max_value = max_value

    def clean(self, value):
        value = Field.clean(self, value)
        if value is not None:
            if self.min_value is not None and value < self.min_value:
                raise ValidationError("%s below minimum" % self.name)
            if self.max_value is not None and value > self.max_value:
                raise ValidationError("%s above maximum" % self.name)
        return value


class StrField(Field):
    kind = str

    def __init__(self, max_length=255, **kw):
        super(StrField, self).__init__(**kw)
        self.max_length = max_length

    def clean(self, value):
        value = super(StrField, self).clean(value)
        if value is not None and len(value) > self.max_length:
            raise ValidationError("%s too long" % self.name)
        return value


class FloatField(Field):
    kind = (int, float)

    def clean(self, value):
        if isinstance(value, bool):
            raise ValidationError("bool is not a float")
        if value is None and self.null:
            return None
        if not isinstance(value, self.kind):
            raise ValidationError("%s expects a number" % self.name)
        return float(value)


class BoolField(Field):
    kind = bool


class ForeignKey(IntField):
    def __init__(self, target, **kw):
        IntField.__init__(self, min_value=1, **kw)
        self.target = target


class ModelMeta(type):
    registry = {}

    def __new__(mcs, name, bases, namespace):
        cls = type.__new__(mcs, name, bases, namespace)
        fields = {}
        for base in reversed(cls.__mro__[1:]):
            fields.update(getattr(base, "_fields", {}))
        for key, value in namespace.items():
            if isinstance(value, Field):
                fields[key] = value
        cls._fields = fields
        cls._table = namespace.get("table", name.lower() + "s")
        if not namespace.get("abstract"):
            ModelMeta.registry[cls._table] = cls
        return cls


class Session(object):
    def __init__(self):
        self.tables = {}
        self.next_id = {}
        self.writes = 0

    def add(self, obj):
        table = self.tables.setdefault(obj._table, {})
        if obj.id is None:
            nid = self.next_id.get(obj._table, 0) + 1
            self.next_id[obj._table] = nid
            obj.id = nid
        table[obj.id] = obj
        self.writes += 1
        return obj

    def get(self, model, pk):
        return self.tables.get(model._table, {}).get(pk)

    def query(self, model):
        return QuerySet(self, model)


class Model(metaclass=ModelMeta):
    abstract = True
    id = IntField(null=True)

    def __init__(self, **values):
        for name, field in self._fields.items():
            if name in values:
                setattr(self, name, values.pop(name))
            elif field.default is not None or field.null:
                setattr(self, name, field.default)
            else:
                raise ValidationError("%s.%s is required" % (type(self).__name__, name))
        if values:
            raise TypeError("unknown fields: %s" % ", ".join(sorted(values)))

    def to_dict(self):
        return dict((name, getattr(self, name)) for name in self._fields)

    @classmethod
    def from_dict(cls, data):
        return cls(**data)

    def __eq__(self, other):
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    def __hash__(self):
        return hash((self._table, self.id))

    def __repr__(self):
        return "<%s #%s>" % (type(self).__name__, self.id)


class Customer(Model):
    name = StrField(max_length=40)
    country = StrField(max_length=2)
    vip = BoolField(default=False)

    @property
    def display(self):
        return "%s (%s)%s" % (self.name, self.country, " *" if self.vip else "")


class Product(Model):
    sku = StrField(max_length=12)
    price = IntField(min_value=0)
    weight = FloatField(default=1.0)
    category = StrField()

    @property
    def price_with_tax(self):
        return self.price + (self.price * self.tax_rate() + 50) // 100

    def tax_rate(self):
        return 20


class FoodProduct(Product):
    table = "products"
    perishable = BoolField(default=True)

    def tax_rate(self):
        return 7 if not self.perishable else 5


class Order(Model):
    customer_id = ForeignKey(Customer)
    product_id = ForeignKey(Product)
    qty = IntField(min_value=1, max_value=1000)
    status = StrField(default="new")


_LOOKUPS = {
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "lte": operator.le,
    "gt": operator.gt, "gte": operator.ge,
    "in": lambda a, b: a in b,
    "startswith": lambda a, b: a.startswith(b),
    "contains": lambda a, b: b in a,
}


class QuerySet(object):
    def __init__(self, session, model, filters=(), ordering=(), limit=None):
        self.session = session
        self.model = model
        self.filters = tuple(filters)
        self.ordering = tuple(ordering)
        self.limit = limit

    def _clone(self, **changes):
        state = dict(filters=self.filters, ordering=self.ordering, limit=self.limit)
        state.update(changes)
        return QuerySet(self.session, self.model, **state)

    def filter(self, **lookups):
        new = []
        for key, value in sorted(lookups.items()):
            field, _, op = key.partition("__")
            new.append((field, _LOOKUPS[op or "eq"], value, False))
        return self._clone(filters=self.filters + tuple(new))

    def exclude(self, **lookups):
        new = []
        for key, value in sorted(lookups.items()):
            field, _, op = key.partition("__")
            new.append((field, _LOOKUPS[op or "eq"], value, True))
        return self._clone(filters=self.filters + tuple(new))

    def order_by(self, *fields):
        return self._clone(ordering=fields)

    def __getitem__(self, item):
        if isinstance(item, slice) and item.start is None and item.step is None:
            return self._clone(limit=item.stop)
        return list(self)[item]

    def __iter__(self):
        rows = [
            obj for obj in self.session.tables.get(self.model._table, {}).values()
            if isinstance(obj, self.model)
        ]
        for field, op, value, negate in self.filters:
            rows = [obj for obj in rows if op(getattr(obj, field), value) != negate]
        for field in reversed(self.ordering):
            reverse = field.startswith("-")
            rows.sort(key=operator.attrgetter(field.lstrip("-")), reverse=reverse)
        if self.limit is not None:
            rows = rows[: self.limit]
        return iter(rows)

    def count(self):
        return sum(1 for _ in self)

    def values(self, *fields):
        return [dict((f, getattr(obj, f)) for f in fields) for obj in self]

    def aggregate_sum(self, field):
        return sum(getattr(obj, field) for obj in self)

    def first(self):
        for obj in self:
            return obj
        return None


# Geometry: the same computation with __slots__ and with plain classes.

class SlotPoint(object):
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __add__(self, other):
        return SlotPoint(self.x + other.x, self.y + other.y)

    def dot(self, other):
        return self.x * other.x + self.y * other.y


class DictPoint(object):
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __add__(self, other):
        return DictPoint(self.x + other.x, self.y + other.y)

    def dot(self, other):
        return self.x * other.x + self.y * other.y


@dataclasses.dataclass(order=True)
class LineItem(object):
    sort_key: tuple
    sku: str = dataclasses.field(compare=False)
    qty: int = dataclasses.field(compare=False, default=1)
    notes: list = dataclasses.field(default_factory=list, compare=False)

    def __post_init__(self):
        if self.qty <= 0:
            raise ValueError("qty must be positive")


@dataclasses.dataclass(frozen=True)
class Key(object):
    table: str
    pk: int


class Shape(abc.ABC):
    @abc.abstractmethod
    def area2(self):
        """Twice the area, an integer."""

    def describe(self):
        return "%s:%d" % (type(self).__name__, self.area2())


class Rect(Shape):
    def __init__(self, w, h):
        self.w = w
        self.h = h

    def area2(self):
        return 2 * self.w * self.h


class Square(Rect):
    def __init__(self, side):
        super().__init__(side, side)


class Triangle(Shape):
    def __init__(self, base, height):
        self.base = base
        self.height = height

    def area2(self):
        return self.base * self.height


_NAMES = ["Ada", "Bob", "Cleo", "Dan", "Émile", "Fay", "Gus", "Hana", "Ivo", "Jun"]
_COUNTRIES = ["DE", "FR", "US", "JP", "BR", "IN"]
_CATEGORIES = ["book", "tool", "toy", "food", "garden"]


def _round(rng, session, n_customers, n_products, n_orders):
    raw_customers = []
    for i in range(n_customers):
        row = (rng.choice(_NAMES) + str(i), rng.choice(_COUNTRIES), rng.random() < 0.2)
        raw_customers.append(row)
        session.add(Customer(name=row[0], country=row[1], vip=row[2]))
    raw_products = []
    for i in range(n_products):
        cat = rng.choice(_CATEGORIES)
        row = ("SKU%05d" % i, rng.randint(1, 50000), cat, rng.random() < 0.5)
        raw_products.append(row)
        if cat == "food":
            session.add(FoodProduct(sku=row[0], price=row[1], category=cat, perishable=row[3]))
        else:
            session.add(Product(sku=row[0], price=row[1], category=cat, weight=rng.randint(1, 20)))
    raw_orders = []
    for _ in range(n_orders):
        row = (rng.randint(1, n_customers), rng.randint(1, n_products), rng.randint(1, 12),
               rng.choice(["new", "paid", "shipped"]))
        raw_orders.append(row)
        session.add(Order(customer_id=row[0], product_id=row[1], qty=row[2], status=row[3]))
    return raw_customers, raw_products, raw_orders


def _raw_price_with_tax(p):
    sku, price, cat, perishable = p
    rate = (5 if perishable else 7) if cat == "food" else 20
    return price + (price * rate + 50) // 100


def run(scale):
    rng = random.Random(2024)
    rounds = scaled(45, scale)
    queries = 0
    for r in range(rounds):
        session = Session()
        customers, products, orders = _round(rng, session, 120, 200, 1500)

        # Revenue per customer (with tax), ORM vs raw.
        revenue = {}
        for order in session.query(Order).filter(status__in=("paid", "shipped")):
            product = session.get(Product, order.product_id)
            customer = session.get(Customer, order.customer_id)
            revenue[customer.name] = revenue.get(customer.name, 0) + product.price_with_tax * order.qty
        want = {}
        for cid, pid, qty, status in orders:
            if status in ("paid", "shipped"):
                name = customers[cid - 1][0]
                want[name] = want.get(name, 0) + _raw_price_with_tax(products[pid - 1]) * qty
        check_eq(revenue, want, "revenue per customer")

        # Filters, exclusion, ordering, slicing.
        for cat in _CATEGORIES:
            qs = session.query(Product).filter(category=cat, price__gte=1000).exclude(sku__startswith="SKU000")
            got = [p.sku for p in qs.order_by("-price", "sku")[:10]]
            rows = [p for p in products if p[2] == cat and p[1] >= 1000 and not p[0].startswith("SKU000")]
            rows.sort(key=lambda p: (-p[1], p[0]))
            check_eq(got, [p[0] for p in rows[:10]], "top products in %s" % cat)
            check_eq(qs.count(), len(rows), "count in %s" % cat)
            queries += 2
        for country in _COUNTRIES:
            vip_names = [v["name"] for v in session.query(Customer).filter(country=country, vip=True).order_by("name").values("name")]
            check_eq(vip_names, sorted(c[0] for c in customers if c[1] == country and c[2]), "vips in %s" % country)
            queries += 1
        qty_sum = session.query(Order).filter(qty__gt=6).aggregate_sum("qty")
        check_eq(qty_sum, sum(o[2] for o in orders if o[2] > 6), "sum of big quantities")
        first = session.query(Customer).order_by("-name").first()
        check_eq(first.name, max(c[0] for c in customers), "first by -name")
        displays = [c.display for c in session.query(Customer).filter(name__contains="a")]
        check(all("(" in d for d in displays), "display property")

        # to_dict/from_dict round trip; identity and hashing.
        seen = set()
        for obj in list(session.tables["orders"].values())[:300]:
            clone = Order.from_dict(obj.to_dict())
            check(clone == obj and hash(clone) == hash(obj), "model round trip")
            seen.add(Key(obj._table, obj.id))
        check_eq(len(seen), 300, "frozen dataclass keys")

        # Validation errors.
        for bad in ({"qty": 0}, {"qty": 5000}, {"qty": "3"}, {"customer_id": 0}):
            args = dict(customer_id=1, product_id=1, qty=1)
            args.update(bad)
            try:
                Order(**args)
            except ValidationError:
                continue
            raise VerificationError("invalid order %r accepted" % bad)
        try:
            Order(customer_id=1, product_id=1, qty=1, colour="red")
        except TypeError:
            pass
        else:
            raise VerificationError("unknown field accepted")
        check(isinstance(FoodProduct.__dict__.get("perishable"), BoolField), "subclass field")
        check("perishable" in FoodProduct._fields and "sku" in FoodProduct._fields, "inherited fields")

        # __slots__ vs __dict__ classes give identical results.
        pts = [(rng.randint(-100, 100), rng.randint(-100, 100)) for _ in range(400)]
        acc_s = SlotPoint(0, 0)
        acc_d = DictPoint(0, 0)
        dots_s = dots_d = 0
        for x, y in pts:
            ps, pd = SlotPoint(x, y), DictPoint(x, y)
            acc_s = acc_s + ps
            acc_d = acc_d + pd
            dots_s += ps.dot(acc_s)
            dots_d += pd.dot(acc_d)
        check_eq((acc_s.x, acc_s.y, dots_s), (acc_d.x, acc_d.y, dots_d), "slots vs dict points")
        check_eq((acc_s.x, acc_s.y), (sum(p[0] for p in pts), sum(p[1] for p in pts)), "point sum")
        try:
            acc_s.z = 1
        except AttributeError:
            pass
        else:
            raise VerificationError("__slots__ instance accepted a new attribute")

        # Dataclass ordering.
        items = [LineItem((rng.randint(0, 9), i), "S%d" % i, rng.randint(1, 5)) for i in range(300)]
        items.sort()
        check(all(items[i].sort_key <= items[i + 1].sort_key for i in range(len(items) - 1)), "dataclass order")
        check_eq(dataclasses.asdict(items[0])["notes"], [], "asdict default_factory")
        check_eq(dataclasses.replace(items[0], qty=9).qty, 9, "dataclasses.replace")

        # ABC dispatch.
        shapes = []
        for _ in range(300):
            k = rng.randrange(3)
            shapes.append(Rect(rng.randint(1, 9), rng.randint(1, 9)) if k == 0 else
                          Square(rng.randint(1, 9)) if k == 1 else Triangle(rng.randint(1, 9), rng.randint(1, 9)))
        total2 = sum(s.area2() for s in shapes)
        want2 = 0
        for s in shapes:
            want2 += 2 * s.w * s.h if isinstance(s, Rect) else s.base * s.height
        check_eq(total2, want2, "polymorphic area")
        check(all(":" in s.describe() for s in shapes), "describe")
        try:
            Shape()
        except TypeError:
            pass
        else:
            raise VerificationError("abstract class instantiated")
        check(session.writes == 120 + 200 + 1500, "session writes")
    return "%d rounds, %d queries checked" % (rounds, queries)
