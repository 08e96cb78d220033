"""decimal: money arithmetic (invoices, tax, currency conversion, bill splits,
amortization), quantize with several rounding modes, contexts, traps.

Money results are compared with exact integer-cents arithmetic that does its
own rounding; high-precision results are compared with fractions/isqrt.
"""

import decimal
import math
import random
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction

from ._common import VerificationError, check, check_eq, scaled

NAME = "decimal"
DESCRIPTION = "decimal money arithmetic, quantize/rounding modes, contexts and traps, vs integer cents"

CENT = Decimal("0.01")


def half_up(num, den):
    """num/den rounded to nearest, ties away from zero (den > 0)."""
    if num < 0:
        return -((-2 * num + den) // (2 * den))
    return (2 * num + den) // (2 * den)


def half_even(num, den):
    q, rem = divmod(num, den)
    twice = 2 * rem
    if twice > den or (twice == den and q & 1):
        q += 1
    return q


def _cents(value):
    """Decimal with two places -> int cents, exactly."""
    sign, digits, exp = value.as_tuple()
    check_eq(exp, -2, "quantized exponent")
    n = int("".join(map(str, digits)) or "0")
    return -n if sign else n


def _invoice(rng, n_lines):
    lines = []
    for _ in range(n_lines):
        lines.append((rng.randint(1, 500000), rng.randint(1, 40), rng.choice([0, 0, 5, 10, 15, 33]),
                      rng.choice([0, 500, 700, 1900, 2000, 2100])))
    # Decimal version.
    net_total = Decimal(0)
    tax_total = Decimal(0)
    for price_cents, qty, disc, tax_bp in lines:
        unit = Decimal(price_cents).scaleb(-2)
        net = (unit * qty * (100 - disc) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        tax = (net * tax_bp / 10000).quantize(CENT, rounding=ROUND_HALF_EVEN)
        net_total += net
        tax_total += tax
    gross = net_total + tax_total
    # Integer version.
    net_c = tax_c = 0
    for price_cents, qty, disc, tax_bp in lines:
        n = half_up(price_cents * qty * (100 - disc), 100)
        net_c += n
        tax_c += half_even(n * tax_bp, 10000)
    check_eq(_cents(net_total), net_c, "invoice net")
    check_eq(_cents(tax_total), tax_c, "invoice tax")
    check_eq(_cents(gross), net_c + tax_c, "invoice gross")
    return gross


def run(scale):
    rng = random.Random(1999)
    impl = "C" if getattr(decimal, "__libmpdec_version__", None) else "pure Python"
    rounds = scaled(2400, scale)
    grand = Decimal(0)
    for r in range(rounds):
        gross = _invoice(rng, 40)
        grand += gross

        # Currency conversion with 6-decimal rates, banker's rounding.
        for _ in range(40):
            cents = rng.randint(-10 ** 9, 10 ** 9)
            rate_micro = rng.randint(1, 5 * 10 ** 6)
            rate = Decimal(rate_micro).scaleb(-6)
            converted = (Decimal(cents).scaleb(-2) * rate).quantize(CENT, ROUND_HALF_EVEN)
            check_eq(_cents(converted), half_even(cents * rate_micro, 10 ** 6), "conversion")

        # Splitting a bill: shares rounded down, remainder cents go to the first payers.
        total = Decimal(rng.randint(100, 10 ** 7)).scaleb(-2)
        people = rng.randint(2, 13)
        share = (total / people).quantize(CENT, rounding=ROUND_DOWN)
        remainder = total - share * people
        shares = [share + CENT if i < int(remainder / CENT) else share for i in range(people)]
        check_eq(sum(shares, Decimal(0)), total, "split sums to total")
        q, rem = divmod(_cents(total), people)
        check_eq([_cents(s) for s in shares], [q + 1] * rem + [q] * (people - rem), "split shares")

        # Amortization: monthly payment, the schedule repays the principal.
        if r % 6 == 0:
            with decimal.localcontext() as ctx:
                ctx.prec = 34
                principal = Decimal(rng.randint(10000, 500000))
                monthly = Decimal(rng.randint(100, 900)) / Decimal(120000)  # 1%..9% a year
                months = 12 * rng.randint(5, 30)
                factor = (1 + monthly) ** months
                payment = (principal * monthly * factor / (factor - 1)).quantize(CENT, ROUND_HALF_UP)
                balance = principal
                paid_principal = Decimal(0)
                for m in range(months):
                    interest = (balance * monthly).quantize(CENT, ROUND_HALF_UP)
                    part = payment - interest if m < months - 1 else balance
                    balance -= part
                    paid_principal += part
                check_eq(balance, Decimal(0), "amortization ends at zero")
                check_eq(paid_principal, principal, "principal repaid")
                exact = Fraction(principal) * (1 + Fraction(monthly)) ** months
                check(abs(Fraction(principal * factor) - exact) / exact < Fraction(1, 10 ** 28), "compound factor precision")

    # High precision against independent integer/fraction arithmetic.
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        root2 = Decimal(2).sqrt()
        digits = str(math.isqrt(2 * 10 ** 100)) if hasattr(math, "isqrt") else None
        if digits:
            check_eq(str(root2).replace(".", "")[:50], digits[:50], "sqrt(2) digits")
        for x in (Decimal("0.5"), Decimal("7.25"), Decimal("12345.678")):
            back = x.ln().exp()
            check(abs(back - x) / x < Decimal("1e-55"), "exp(ln(x))")
        check(abs(Decimal(10).log10() - 1) < Decimal("1e-58"), "log10")
    for f in (0.1, 1 / 3.0, 2.5e-7, 12345.6789):
        check_eq(Fraction(Decimal(f)), Fraction(f), "Decimal(float) is exact")

    # Contexts, flags and traps.
    ctx = decimal.Context(prec=9, rounding=ROUND_HALF_EVEN)
    ctx.clear_flags()
    third = ctx.divide(Decimal(1), Decimal(3))
    check_eq(str(third), "0.333333333", "prec 9 division")
    check(ctx.flags[decimal.Inexact] and ctx.flags[decimal.Rounded], "Inexact/Rounded flags")
    ctx.traps[decimal.Inexact] = True
    try:
        ctx.divide(Decimal(2), Decimal(3))
    except decimal.Inexact:
        pass
    else:
        raise VerificationError("Inexact not trapped")
    try:
        Decimal(1) / Decimal(0)
    except decimal.DivisionByZero:
        pass
    else:
        raise VerificationError("DivisionByZero not trapped")
    try:
        Decimal("12abc")
    except decimal.InvalidOperation:
        pass
    else:
        raise VerificationError("invalid literal accepted")
    check_eq(Decimal("2.675").quantize(CENT, ROUND_HALF_EVEN), Decimal("2.68"), "2.675 half-even")
    check_eq(Decimal("2.665").quantize(CENT, ROUND_HALF_EVEN), Decimal("2.66"), "2.665 half-even")
    check_eq(Decimal("-2.665").quantize(CENT, ROUND_HALF_UP), Decimal("-2.67"), "-2.665 half-up")
    check_eq(Decimal("1.10") + Decimal("2.20"), Decimal("3.30"), "exact addition")
    check_eq(str(Decimal("1e3").normalize()), "1E+3", "normalize")
    check_eq(sorted([Decimal("1.5"), 1, 0.5, Fraction(7, 4)]), [0.5, 1, Decimal("1.5"), Fraction(7, 4)], "mixed ordering")
    check_eq("{:,.2f}".format(Decimal("1234567.891")), "1,234,567.89", "format")
    return "%d invoices (%s decimal), grand total %s" % (rounds, impl, grand)
