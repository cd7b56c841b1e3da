/* registry.c — the compile-time list of operators (operator.h). To add an operator: create
 * operators/<name>/, export `const struct recd_operator_desc recd_op_<name>`, list it here
 * and in operators/CMakeLists.txt. */
#include <string.h>

#include "operator.h"

extern const struct recd_operator_desc recd_op_popular;
extern const struct recd_operator_desc recd_op_sessionize;
extern const struct recd_operator_desc recd_op_sgd;
extern const struct recd_operator_desc recd_op_embed;
extern const struct recd_operator_desc recd_op_rerank;

static const struct recd_operator_desc *const operators[] = {
    &recd_op_sessionize, &recd_op_embed, &recd_op_sgd, &recd_op_rerank, &recd_op_popular,
};

const struct recd_operator_desc *recd_operator_find(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(operators) / sizeof(operators[0]); i++) {
        if (strcmp(operators[i]->name, name) == 0) {
            return operators[i];
        }
    }
    return NULL;
}

size_t recd_operator_count(void)
{
    return sizeof(operators) / sizeof(operators[0]);
}

const struct recd_operator_desc *recd_operator_at(size_t i)
{
    return i < recd_operator_count() ? operators[i] : NULL;
}
