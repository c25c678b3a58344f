/*
 * dist.h - data-parallel training across MPI ranks (mbtrain-mpi); with one rank
 * (mbtrain, or mbtrain-mpi without mpirun) every call is trivial. See dist.c.
 */
#ifndef MBTRAIN_DIST_H
#define MBTRAIN_DIST_H

#include <stddef.h>
#include <stdint.h>
#include "model.h"

int mt_dist_init(int *argc, char ***argv); /* 0 = ok */
/* End of the program: rc != 0 with several ranks aborts them all (one rank's error
 * must not leave the others waiting in a collective). */
void mt_dist_finish(int rc);
int mt_dist_rank(void);
int mt_dist_size(void);
int mt_dist_is_mpi(void); /* built with MPI */
/* buf := the mean of buf over the ranks (the gradients after the backward pass) */
void mt_dist_mean(mt_real *buf, size_t n);
double mt_dist_mean1(double x);
/* rank 0's v, on every rank (decisions that depend on the clock: checkpoints) */
int mt_dist_bcast_int(int v);
/* 1 when h is the same on every rank (a hash of the weights) */
int mt_dist_agree(uint64_t h);

#endif
