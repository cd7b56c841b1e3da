/* sessrec_params.h — the model's parameter table: every knob of struct sessrec_params a user may
 * set, with its default, bounds and a one-line description. It is the only place these
 * defaults live:
 *
 *   - operators/sgd/sgd.c expands it into the rows (struct recd_conf_decl) of its config unit
 *     operators.sgd, so each parameter is a key there (conf/recd.conf, docs/CONFIGURATION.md);
 *   - sessrec_params.c expands it into sessrec_params_default() and into the names, kinds and
 *     bounds sessrec_params_set() / sessrec_params_check() use (the offline evaluator's
 *     --params, the tests).
 *
 * One row: KIND(NAME, FIELD, DEFAULT, MIN, MAX, DESC); the caller passes one macro per KIND
 * (so that DEFAULT reaches it unexpanded: #DEFAULT is the text of the literal)
 *   KIND     U: an integer (uint32_t field, config type int), F: a real (float field, config
 *            type double), B: a boolean (uint32_t field 0/1, config type bool; DEFAULT is true
 *            or false), E: the learning mode (enum sessrec_learning field, config type string;
 *            DEFAULT is a string literal, one of SESSREC_LEARNING_NAMES)
 *   NAME     the key (operators.sgd.NAME) and the --params name
 *   FIELD    the member of struct sessrec_params it sets
 *   DEFAULT  a literal, written as the config file would write it (#DEFAULT is the key's
 *            default text; the same literal converted to the field's type is the C default)
 *   MIN, MAX bounds, inclusive (B and E: unused, 0)
 *   DESC     one line; measurements of a value belong in docs/QUALITY.md
 * Lengths are in items, decays in clicks (model ticks). All rows are restart-only (the model
 * is rebuilt from the event log with the new values on start).
 */
#ifndef RECD_SESSREC_PARAMS_H
#define RECD_SESSREC_PARAMS_H

/* enum sessrec_learning by name, in enum order */
#define SESSREC_LEARNING_NAMES { "fixed", "blend", "blend_and_order", NULL }

#define SESSREC_PARAM_TABLE(U, F, B, E)                                                           \
    /* --- learning the blend of signals --- */                                                   \
    E(learning, learning, "blend_and_order", 0, 0,                                                \
      "How the blend of signals learns from each sampled click's next item: fixed (the w_* "      \
      "weights), blend (all weights) or blend_and_order (set weights choose, a second blend "     \
      "orders the list head).")                                                                   \
    U(learn_every, learn_every, 8, 1, 1000,                                                       \
      "Learn from one click in this many (picked by a hash of the session key and the click "     \
      "count, so replay is exact); each learned click costs one scoring of the session.")         \
    F(learn_rate, learn_rate, 0.05, 0, 10, "AdaGrad step size of the learned blends.")            \
    U(learn_loss, learn_loss, 0, 0, 1,                                                            \
      "learning = blend: 0 softmax over the top learn_topn, 1 hinge at rank 20.")                 \
    U(learn_topn, learn_topn, 50, 1, 65535,                                                       \
      "learning = blend: candidates (by the current blend) the loss runs over.")                  \
    U(order_top, order_top, 20, 1, 65535,                                                         \
      "blend_and_order: items at the head of each list ordered by the learned blend (keep it "    \
      "equal to operators.rerank.n).")                                                            \
    U(order_buckets, order_buckets, 3, 1, 8,                                                      \
      "blend_and_order: separate order blends for sessions of length 1, 2, ..., this and "        \
      "longer (1 = one blend).")                                                                  \
    B(learn_set, learn_set, true, 0, 0,                                                           \
      "blend_and_order: the weights that choose the list head are learned too (pairwise loss "    \
      "across rank order_top), starting from the w_* weights; false keeps them fixed.")           \
    F(set_rate, set_rate, 0.04, 0, 10, "learn_set: AdaGrad step size of the set weights.")        \
    F(set_temp, set_temp, 0.05, 0, 100,                                                           \
      "learn_set: logistic temperature of the pairwise loss (0 = 1).")                            \
    U(set_window, set_window, 5, 1, 1000,                                                         \
      "learn_set: items on the other side of the order_top boundary compared with each "          \
      "target.")                                                                                  \
    /* --- the fixed (and initial) blend weights, by enum sessrec_feature --- */                  \
    U(signals, signals, 31, 0, 31,                                                                \
      "Enabled signals, a bitmask: 1 POPULAR, 2 SIMILAR_SESSION, 4 NEXT_ITEM, 8 CO_VISITED, "     \
      "16 IN_SESSION.")                                                                           \
    F(w_pop, w[SESSREC_F_POP], 0.01, -100, 100, "Weight of decayed popularity.")                  \
    F(w_knn, w[SESSREC_F_KNN], 1.0, -100, 100,                                                    \
      "Weight of session-kNN neighbour items at or after the matched item.")                      \
    F(w_knnb, w[SESSREC_F_KNN_BEFORE], 0.7, -100, 100,                                            \
      "Weight of session-kNN neighbour items before the matched item.")                           \
    F(w_knns, w[SESSREC_F_KNN_SQRT], 0.0, -100, 100,                                              \
      "Weight of the square root of the session-kNN total.")                                      \
    F(w_next, w[SESSREC_F_NEXT], 0.2, -100, 100, "Weight of the last item's successors.")         \
    F(w_nexth, w[SESSREC_F_NEXT_HOPS], 0.1, -100, 100,                                            \
      "Weight of the successors of earlier session items (hop-decayed).")                         \
    F(w_nexts, w[SESSREC_F_NEXT_SQRT], 0.0, -100, 100,                                            \
      "Weight of the square root of the successor total.")                                        \
    F(w_next2, w[SESSREC_F_NEXT2], 0.0, -100, 100,                                                \
      "Weight of the successors of the (previous, last) item pair in the set blend (learned "     \
      "for the order by blend_and_order).")                                                       \
    F(w_covis, w[SESSREC_F_COVIS], 0.0, -100, 100,                                                \
      "Weight of cosine co-visitation with the last item.")                                       \
    F(w_repeat, w[SESSREC_F_REPEAT], 0.2, -100, 100,                                              \
      "Weight of recency-weighted occurrences in the current session.")                           \
    F(w_last, w[SESSREC_F_LAST], 0.0, -100, 100, "Weight of being the session's last item.")      \
    F(w_trend, w[SESSREC_F_TREND], 0.0, -100, 100,                                                \
      "Weight of fast-decayed clicks (TREND); learned from 0 by learn_set.")                      \
    F(w_repslow, w[SESSREC_F_REPEAT_SLOW], 0.0, -100, 100,                                        \
      "Weight of slowly decayed occurrences in the current session (rep_slow_lambda); learned "   \
      "from 0 by the learned blends.")                                                            \
    /* --- session kNN (SIMILAR_SESSION) --- */                                                   \
    U(postings_cap, postings_cap, 30, 1, 100000,                                                  \
      "Most recent sessions remembered per item (session-kNN neighbour candidates).")             \
    U(sample_cap, sample_cap, 500, 1, 100000,                                                     \
      "Most distinct candidate neighbour sessions examined per scoring.")                         \
    U(k_neighbors, k_neighbors, 100, 1, 10000,                                                    \
      "Neighbour sessions kept after similarity ranking.")                                        \
    U(query_items, query_items, 10, 1, 4096,                                                      \
      "Last distinct session items used to find neighbours.")                                     \
    F(spw_lambda, spw_lambda, 3.0, 0, 1e9,                                                        \
      "Current-session position weight exp(-age/x) in items; 0 = all equal.")                     \
    F(rec_lambda, rec_lambda, 500000.0, 0, 1e9,                                                   \
      "Neighbour session recency decay exp(-ticks/x); 0 = off.")                                  \
    F(sim_norm, sim_norm, 0.0, 0, 10,                                                             \
      "Divide a neighbour's similarity by its length to this power; 0 = off.")                    \
    F(ipw_lambda, ipw_lambda, 3.0, 0, 1e9,                                                        \
      "Neighbour item weight exp(-distance/x) from the matched item; 0 = the matched item "       \
      "only.")                                                                                    \
    F(idf_sim, idf_sim, 3.0, 0, 10,                                                               \
      "Exponent of the IDF weight of shared items in the similarity; 0 = plain overlap.")         \
    F(idf_score, idf_score, 1.0, 0, 10, "Exponent of the (1 + IDF) weight of recommended items.") \
    U(sess_items_cap, sess_items_cap, 32, 1, 4096, "Last items remembered per session.")          \
    U(max_sessions, max_sessions, 1048576, 1, 67108864,                                           \
      "Sessions kept in memory; the oldest-created is evicted.")                                  \
    /* --- sequential rules (NEXT_ITEM) --- */                                                    \
    U(trans_cap, trans_cap, 64, 1, 65535, "Successors kept per item (space-saving eviction).")    \
    U(trans_window, trans_window, 5, 1, 100,                                                      \
      "a->b counts as a transition when b follows a within this many clicks of a session.")       \
    F(trans_tau, trans_tau, 500000.0, 0, 1e9,                                                     \
      "Decay time constant of transition weights, in clicks; 0 = no decay.")                      \
    U(trans_hops, trans_hops, 5, 1, 32,                                                           \
      "Last session items whose successors are read for the next-item signal.")                   \
    F(trans_hop_decay, trans_hop_decay, 0.6, 0, 1,                                                \
      "Weight of the successors of the h-th last item: this^h.")                                  \
    B(trans_norm, trans_norm, false, 0, 0,                                                        \
      "Normalise transitions per source item (P(b|a)) instead of raw decayed counts.")            \
    U(pair_cap, pair_cap, 32, 0, 65535,                                                           \
      "(previous item -> successor) entries kept per last item for w_next2, kept only when "      \
      "learning or w_next2 uses them; 0 = off.")                                                  \
    /* --- co-visitation (CO_VISITED), repeats (IN_SESSION), popularity (POPULAR) --- */          \
    U(covis_cap, covis_cap, 64, 1, 65535, "Co-visited items kept per item.")                      \
    U(covis_window, covis_window, 5, 1, 1000,                                                     \
      "Two clicks of a session within this many clicks are co-visits.")                           \
    F(rep_lambda, rep_lambda, 2.0, 0, 1e9,                                                        \
      "Weight of an earlier occurrence in the session exp(-age/x); 0 = all equal.")               \
    F(rep_slow_lambda, rep_slow_lambda, 0.0, 0, 1e9,                                              \
      "w_repslow: weight of an earlier occurrence exp(-age/x); 0 = all equal (a count).")        \
    U(pop_top, pop_top, 100, 0, 100000,                                                           \
      "Popular items tracked and offered as the cold-start fallback.")                            \
    F(pop_tau, pop_tau, 500000.0, 0, 1e9,                                                         \
      "Popularity decay time constant, in clicks; 0 = no decay.")                                 \
    F(trend_tau, trend_tau, 10000.0, 0, 1e9,                                                      \
      "Decay time constant of the TREND feature's click counts, in clicks; 0 = off.")

#endif
