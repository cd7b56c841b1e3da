/*
 * demo.h — the embedded demo (`recd --demo [DIR]`): starts librdkafka's in-process mock
 * cluster, fills it with a synthetic shop (sources/shopgen) or a real dataset directory
 * (sources/dataset), runs the daemon on it until the input is consumed, and prints
 * recommendations with their reasons for a few users. Needs no broker and no files outside
 * the repository.
 */
#ifndef RECD_DEMO_H
#define RECD_DEMO_H

/* Returns a process exit code. dataset_dir may be NULL (synthetic shop). */
int recd_demo_main(const char *dataset_dir, long long n_events);

#endif
