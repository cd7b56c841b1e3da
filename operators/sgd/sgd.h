/*
 * sgd.h — private to the sgd operator: the model's parameters as the operator's configuration
 * (operators.sgd) sets them, for sgd.c and, through an explicit include path in their own
 * CMakeLists.txt, the offline evaluator (bench/offline) and test_model_conf. What sgd offers
 * rerank is service "sessrec" (services/sessrec.h).
 */
#ifndef RECD_SGD_H
#define RECD_SGD_H

#include <stddef.h>

#include "mf.h"

struct sessrec_params;

/* The MF rows of the operators.sgd table (the only place their defaults live), one row
 * KIND(KEY, FIELD of struct mf_params, DEFAULT, MIN, MAX, DESC): U an integer, F a real (as
 * in models/sessrec/sessrec_params.h). */
#define SGD_MF_PARAM_TABLE(U, F)                                                      \
    U(mf_dim, dim, 32, 1, 1024, "Factor dimension.")                                  \
    F(mf_lr, lr, 0.2, 0, 10, "SGD learning rate.")                                    \
    F(mf_reg, reg, 0.0001, 0, 10, "L2 regularisation.")                               \
    U(mf_negatives, negatives, 16, 0, 1000,                                           \
      "Negatives per event, drawn deterministically from the recent positives "       \
      "(popularity-proportional).")                                                   \
    U(mf_ctx, ctx, 5, 1, 64,                                                          \
      "Last session items folded into the user factor (the k-th last weighs 0.7^k).") \
    F(mf_text_lr, text_lr, 0.01, 0, 10, "Learning rate of the text projection.")

/* The MF parameters of the default configuration: the table's rows over mf.h's values for
 * what is not a key (neg_ring, ctx_decay, seed), negatives drawn from the recent positives
 * only (neg_uniform 0, as the operator always does). */
static inline void sgd_mf_params_default(struct mf_params *p)
{
    mf_params_default(p);
    p->neg_uniform = 0;
#define SGD_MF_DU(key, field, def, lo, hi, desc) p->field = (uint32_t)(def);
#define SGD_MF_DF(key, field, def, lo, hi, desc) p->field = (float)(def);
    SGD_MF_PARAM_TABLE(SGD_MF_DU, SGD_MF_DF)
#undef SGD_MF_DU
#undef SGD_MF_DF
}

/* The model parameters a loaded operators.sgd unit (recd_conf_unit_data(c, "operators.sgd"))
 * stands for: its keys, then the deprecated learn_blend / learn_order / tuning over them.
 * RECD_OK, or RECD_ECONFIG with the message in errstr (a deprecated key contradicting
 * `learning`, a tuning string the model cannot take). */
int sgd_model_params(const void *conf, struct sessrec_params *out, char *errstr, size_t errlen);

#endif
