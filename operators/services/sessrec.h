/*
 * services/sessrec.h — service "sessrec": the session model and the matrix factorisation the
 * sgd operator trains, for rerank to score candidates with (through the models' own public
 * headers, models/sessrec/sessrec.h and models/mf/mf.h).
 *
 * Offered by: sgd (operators/sgd/sgd.c registers a struct recd_sessrec_ref). Looked up by:
 * rerank (recd_services_get(env->services, "sessrec")).
 *
 * Ownership: the struct and the models are owned by the sgd operator. The struct stays valid
 * for the operator's lifetime (operators are finalised in reverse chain order, so for every
 * operator after it); the model pointers in it stay valid until the end of the current batch
 * (the model may be rebuilt after a failed commit), so keep the struct, not the models.
 */
#ifndef RECD_SERVICES_SESSREC_H
#define RECD_SERVICES_SESSREC_H

struct sessrec;
struct mf;

struct recd_sessrec_ref {
    struct sessrec *model;
    struct mf *mf;          /* the matrix factorisation (models/mf/mf.h), NULL when off */
};

#endif
