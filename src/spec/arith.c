/* Arithmetic on numbers in spec values (1/255, 28^2, 28 * 28, 2**3,
 * img_rows * img_cols with numeric variables): R's and Python's precedence,
 * a quotient is a float, anything else stays an integer while exact. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "spec_priv.h"

/* Arithmetic on numbers, as R and Python read it: ^ and ** bind tightest
 * (right to left), then * and /, then + and -. Operands that are not
 * numbers end the expression (the caller reports what follows). */
static int binop(parser *p, const char **ops, int *which)
{
    size_t i = p->i;
    int line = p->line, col = p->col;
    spec_skip_space(p, 0);
    for (int k = 0; ops[k]; k++) {
        size_t n = strlen(ops[k]);
        /* "**" is not "*", "*" is not "**"; "<-" after a name is not "-" */
        if (!strncmp(p->s + p->i, ops[k], n) &&
            !(n == 1 && ops[k][0] == '*' && p->s[p->i + 1] == '*') &&
            !(ops[k][0] == '-' && p->i > 0 && p->s[p->i - 1] == '<') && p->s[p->i + n] != '=') {
            for (size_t j = 0; j < n; j++)
                spec_adv(p);
            *which = k;
            return 1;
        }
    }
    p->i = i, p->line = line, p->col = col;
    return 0;
}

static int operand(parser *p, nn_value *d, const char *op, int depth,
                   int (*next)(parser *, nn_value *, int))
{
    spec_skip_space(p, 0);
    char c = p->s[p->i];
    char want[48];
    snprintf(want, sizeof want, "a number after '%s'", op);
    if (!isdigit((unsigned char)c) && c != '-' && c != '+' && c != '.' && c != '(' &&
        !spec_is_ident0(c))
        return spec_fail(p, want);
    d->line = p->line;
    d->col = p->col;
    int rc = next(p, d, depth);
    if (!rc && d->kind != NN_V_NUM)
        return nn_err(p->e, NN_EFORMAT, "%s:%d:%d: expected %s", p->path, d->line, d->col, want);
    return rc;
}

static int result(parser *p, nn_value *v, const nn_value *d, double x, int is_int,
                  const char *what)
{
    if (x - x != 0)   /* overflowed to inf, or nan */
        return nn_err(p->e, NN_EFORMAT, "%s:%d:%d: the %s is out of range", p->path, d->line,
                      d->col, what);
    v->is_int = is_int && x > -9.0e15 && x < 9.0e15 && x == (double)(long long)x;
    v->num = x;
    return NN_OK;
}

static int parse_power(parser *p, nn_value *v, int depth)
{
    static const char *ops[] = {"^", "**", NULL};
    int rc = spec_parse_primary(p, v, depth), k;
    if (rc || v->kind != NN_V_NUM || !binop(p, ops, &k))
        return rc;
    nn_value d = {0};
    if ((rc = operand(p, &d, ops[k], depth, parse_power))) {
        spec_value_free(&d);
        return rc;
    }
    v->is_int = v->is_int && d.is_int && d.num >= 0;
    rc = result(p, v, &d, pow(v->num, d.num), v->is_int, "power");
    spec_value_free(&d);
    return rc;
}

static int parse_product(parser *p, nn_value *v, int depth)
{
    static const char *ops[] = {"*", "/", NULL};
    int rc = parse_power(p, v, depth), k;
    while (!rc && v->kind == NN_V_NUM && binop(p, ops, &k)) {
        nn_value d = {0};
        if (!(rc = operand(p, &d, ops[k], depth, parse_power))) {
            if (k == 1 && d.num == 0)
                rc = nn_err(p->e, NN_EFORMAT, "%s:%d:%d: division by zero", p->path, d.line,
                            d.col);
            else if (k == 1)   /* 1/255 is a float even in R */
                rc = result(p, v, &d, v->num / d.num, 0, "quotient");
            else
                rc = result(p, v, &d, v->num * d.num, v->is_int && d.is_int, "product");
        }
        spec_value_free(&d);
    }
    return rc;
}

int spec_parse_value(parser *p, nn_value *v, int depth)
{
    static const char *ops[] = {"+", "-", NULL};
    int rc = parse_product(p, v, depth), k;
    while (!rc && v->kind == NN_V_NUM && binop(p, ops, &k)) {
        nn_value d = {0};
        if (!(rc = operand(p, &d, ops[k], depth, parse_product)))
            rc = result(p, v, &d, k ? v->num - d.num : v->num + d.num, v->is_int && d.is_int,
                        k ? "difference" : "sum");
        spec_value_free(&d);
    }
    return rc;
}

