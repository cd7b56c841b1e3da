/* recctl_state.c — recctl's state tools (digest, show, checkpoint). */
#include <stdio.h>

#include "recctl.h"

int recctl_state_main(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "recctl state: not implemented yet\n");
    return 70;
}

int recctl_checkpoint_main(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "recctl checkpoint: not implemented yet\n");
    return 70;
}
