#ifndef COVATA_CSPAWN_H
#define COVATA_CSPAWN_H

#include <spawn.h>

/* glibc >= 2.34 has this GNU extension, but declares it only under _GNU_SOURCE, which Swift's Glibc module does
   not set. Closing every inherited descriptor in a spawned child needs it (TestSupport/ChildProcess.swift). */
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

#endif
