"""sqlite3 in memory: schema, executemany, joins, aggregates, transactions,
Python-defined SQL functions and aggregates, many small parameterized queries.

Every query result is compared with the same computation done in Python
over the generated rows.
"""

import random

from ._common import VerificationError, check, check_eq, need, scaled

NAME = "sqlite"
DESCRIPTION = "sqlite3 in-memory: schema, executemany, joins, aggregates, transactions, UDFs"

SCHEMA = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT NOT NULL);
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, category TEXT NOT NULL,
                       price_cents INTEGER NOT NULL CHECK (price_cents >= 0));
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
                     day INTEGER NOT NULL);
CREATE TABLE order_items (order_id INTEGER NOT NULL REFERENCES orders(id),
                          product_id INTEGER NOT NULL REFERENCES products(id),
                          qty INTEGER NOT NULL);
CREATE INDEX ix_orders_customer ON orders(customer_id);
CREATE INDEX ix_items_order ON order_items(order_id);
CREATE INDEX ix_products_category ON products(category);
"""

_COUNTRIES = ["DE", "FR", "US", "JP", "BR", "IN", "NG", "SE"]
_CATEGORIES = ["books", "tools", "toys", "food", "garden", "music"]


class Median(object):
    """A Python aggregate: the lower median."""

    def __init__(self):
        self.values = []

    def step(self, value):
        self.values.append(value)

    def finalize(self):
        if not self.values:
            return None
        self.values.sort()
        return self.values[(len(self.values) - 1) // 2]


def _gen(rng, n_customers, n_products, n_orders):
    customers = [(i + 1, "cust-%d-%s" % (i + 1, rng.choice(["ä", "b", "ç", "d", "é"])), rng.choice(_COUNTRIES))
                 for i in range(n_customers)]
    products = [(i + 1, "prod-%d" % (i + 1), rng.choice(_CATEGORIES), rng.randint(50, 99999))
                for i in range(n_products)]
    orders = [(i + 1, rng.randint(1, n_customers), rng.randint(0, 364)) for i in range(n_orders)]
    items = []
    for oid, _, _ in orders:
        for pid in rng.sample(range(1, n_products + 1), rng.randint(1, 5)):
            items.append((oid, pid, rng.randint(1, 10)))
    return customers, products, orders, items


def run(scale):
    sqlite3 = need("sqlite3")
    rng = random.Random(11)
    rounds = scaled(24, scale)
    n_queries = 0
    for r in range(rounds):
        conn = sqlite3.connect(":memory:")
        conn.executescript(SCHEMA)
        customers, products, orders, items = _gen(rng, 300, 400, 2500)
        with conn:
            conn.executemany("INSERT INTO customers VALUES (?, ?, ?)", customers)
            conn.executemany("INSERT INTO products (id, name, category, price_cents) VALUES (?, ?, ?, ?)", products)
            conn.executemany("INSERT INTO orders VALUES (?, ?, ?)", orders)
            conn.executemany("INSERT INTO order_items VALUES (?, ?, ?)", iter(items))
        check_eq(conn.execute("SELECT count(*) FROM order_items").fetchone()[0], len(items), "row count")

        price = dict((p[0], p[3]) for p in products)
        category = dict((p[0], p[2]) for p in products)
        cust_of = dict((o[0], o[1]) for o in orders)
        country = dict((c[0], c[2]) for c in customers)

        # Revenue per country (3-way join + group by).
        got = dict(conn.execute("""
            SELECT c.country, SUM(oi.qty * p.price_cents)
            FROM order_items oi JOIN orders o ON o.id = oi.order_id
            JOIN customers c ON c.id = o.customer_id JOIN products p ON p.id = oi.product_id
            GROUP BY c.country""").fetchall())
        want = {}
        for oid, pid, qty in items:
            k = country[cust_of[oid]]
            want[k] = want.get(k, 0) + qty * price[pid]
        check_eq(got, want, "revenue per country")

        # Top customers with HAVING and ORDER BY ... LIMIT.
        rows = conn.execute("""
            SELECT o.customer_id, SUM(oi.qty) AS units FROM orders o JOIN order_items oi ON oi.order_id = o.id
            GROUP BY o.customer_id HAVING units >= ? ORDER BY units DESC, o.customer_id LIMIT 15""", (40,)).fetchall()
        units = {}
        for oid, pid, qty in items:
            units[cust_of[oid]] = units.get(cust_of[oid], 0) + qty
        expect = sorted(((c, u) for c, u in units.items() if u >= 40), key=lambda t: (-t[1], t[0]))[:15]
        check_eq([tuple(row) for row in rows], expect, "top customers")

        # Category stats with a Python aggregate and a Python scalar function.
        conn.create_aggregate("median_int", 1, Median)
        if _supports_deterministic(sqlite3):
            conn.create_function("cents_to_str", 1, _cents_to_str, deterministic=True)
        else:
            conn.create_function("cents_to_str", 1, _cents_to_str)
        stats = conn.execute("""
            SELECT category, COUNT(*), MIN(price_cents), MAX(price_cents), median_int(price_cents),
                   cents_to_str(SUM(price_cents))
            FROM products GROUP BY category ORDER BY category""").fetchall()
        for cat, n, lo, hi, med, total in stats:
            prices = sorted(p[3] for p in products if p[2] == cat)
            check_eq((n, lo, hi, med), (len(prices), prices[0], prices[-1], prices[(len(prices) - 1) // 2]), "stats " + cat)
            check_eq(total, "%d.%02d" % divmod(sum(prices), 100), "cents_to_str " + cat)

        # Many small parameterized lookups with sqlite3.Row.
        order_total = {}
        for oid, pid, qty in items:
            order_total[oid] = order_total.get(oid, 0) + price[pid] * qty
        conn.row_factory = sqlite3.Row
        for oid in rng.sample(range(1, len(orders) + 1), 600):
            total = 0
            for row in conn.execute(
                    "SELECT p.price_cents, oi.qty, p.category FROM order_items oi JOIN products p ON p.id = oi.product_id "
                    "WHERE oi.order_id = ? ORDER BY p.id", (oid,)):
                total += row["price_cents"] * row["qty"]
                check(row["category"] in _CATEGORIES, "row category")
            check_eq(total, order_total[oid], "order total")
            n_queries += 1
        conn.row_factory = None

        # Pagination.
        seen = []
        offset = 0
        while True:
            page = conn.execute("SELECT id FROM customers WHERE country = ? ORDER BY id LIMIT 20 OFFSET ?", ("DE", offset)).fetchall()
            if not page:
                break
            seen.extend(row[0] for row in page)
            offset += 20
            n_queries += 1
        check_eq(seen, [c[0] for c in customers if c[2] == "DE"], "pagination")

        # Transactions: rollback leaves data unchanged, commit applies it.
        before = conn.execute("SELECT SUM(price_cents) FROM products").fetchone()[0]
        try:
            with conn:
                conn.execute("UPDATE products SET price_cents = price_cents * 2")
                conn.execute("INSERT INTO products VALUES (?, ?, ?, ?)", (1, "dup", "toys", 1))
        except sqlite3.IntegrityError:
            pass
        else:
            raise VerificationError("duplicate primary key accepted")
        check_eq(conn.execute("SELECT SUM(price_cents) FROM products").fetchone()[0], before, "rollback")
        with conn:
            conn.execute("UPDATE products SET price_cents = price_cents + 1 WHERE category = ?", ("books",))
        n_books = sum(1 for p in products if p[2] == "books")
        check_eq(conn.execute("SELECT SUM(price_cents) FROM products").fetchone()[0], before + n_books, "commit")
        try:
            conn.execute("INSERT INTO products VALUES (?, ?, ?, ?)", (99999, "neg", "toys", -5))
        except sqlite3.IntegrityError:
            pass
        else:
            raise VerificationError("CHECK constraint not enforced")
        conn.rollback()

        # Subquery + LIKE + CASE.
        got = conn.execute("""
            SELECT COUNT(*) FROM customers WHERE name LIKE '%-ä' AND id IN
              (SELECT customer_id FROM orders WHERE day BETWEEN 100 AND 200)""").fetchone()[0]
        active = set(o[1] for o in orders if 100 <= o[2] <= 200)
        check_eq(got, sum(1 for c in customers if c[1].endswith("-ä") and c[0] in active), "subquery")
        buckets = dict(conn.execute("""
            SELECT CASE WHEN price_cents < 1000 THEN 'cheap' WHEN price_cents < 50000 THEN 'mid' ELSE 'dear' END AS b,
                   COUNT(*) FROM products GROUP BY b""").fetchall())
        check_eq(sum(buckets.values()), len(products), "CASE buckets")
        dump_lines = sum(1 for _ in conn.iterdump())
        check(dump_lines > len(items), "iterdump")
        conn.close()
        n_queries += 10
    return "%d rounds, %d queries" % (rounds, n_queries)


def _cents_to_str(cents):
    return "%d.%02d" % divmod(cents, 100)


def _supports_deterministic(sqlite3):
    try:
        c = sqlite3.connect(":memory:")
        c.create_function("f", 1, lambda x: x, deterministic=True)
        c.close()
        return True
    except (TypeError, sqlite3.NotSupportedError):
        return False
