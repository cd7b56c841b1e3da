/*
 * recctl.h — subcommands of recctl implemented outside recctl.c.
 * Each takes the arguments after the subcommand name (argv[0] = subcommand) and returns a
 * process exit code.
 */
#ifndef RECD_RECCTL_H
#define RECD_RECCTL_H

/* recctl state digest|show ...  (tools/recctl_state.c) */
int recctl_state_main(int argc, char **argv);
/* recctl checkpoint DIR ...       (tools/recctl_state.c) */
int recctl_checkpoint_main(int argc, char **argv);

/* recctl status [--metrics HOST:PORT]  (tools/recctl_state.c) */
int recctl_status_main(int argc, char **argv);

#endif
