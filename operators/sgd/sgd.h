/*
 * sgd.h — what the sgd operator offers rerank: service "sessrec" is a struct
 * recd_sessrec_ref whose model pointers stay valid until the end of the current batch (the
 * model may be rebuilt after a failed commit).
 */
#ifndef RECD_SGD_H
#define RECD_SGD_H

struct sessrec;
struct mf;

struct recd_sessrec_ref {
    struct sessrec *model;
    struct mf *mf;          /* the matrix factorisation (operators/sgd/mf.h), NULL when off */
};

#endif
