/*
 * test_data.h — where the unit tests find the shared public datasets: $RECD_DATA (ctest sets
 * it from the CMake cache variable RECD_SHARED_DATA, as for the script tests), else
 * RECD_SOURCE_DIR/../shared/data. A dataset a test needs and cannot find fails the test: a
 * missing dataset must not turn into a silently passing case.
 */
#ifndef RECD_TEST_DATA_H
#define RECD_TEST_DATA_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* out = the folder of dataset `name`; fails the running cmocka test if it is not there */
static inline void test_dataset_dir(const char *name, char *out, size_t len)
{
    const char *data = getenv("RECD_DATA"), *src = getenv("RECD_SOURCE_DIR");
    struct stat st;

    if (data != NULL && *data) {
        snprintf(out, len, "%s/%s", data, name);
    } else {
        snprintf(out, len, "%s/../shared/data/%s", src != NULL && *src ? src : RECD_SOURCE_DIR,
                 name);
    }
    if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fail_msg("dataset folder %s is missing (set RECD_DATA to the shared data folder)", out);
    }
}

#endif
