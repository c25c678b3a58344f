/* dist.c - data-parallel training over MPI ranks (mbtrain-mpi), or one rank.
 *
 * Compiled twice from this file: into mbtrain without MBTRAIN_MPI (one rank, every
 * function trivial) and into mbtrain-mpi with it (configure builds that program
 * when it finds an MPI compiler). Data parallelism, as mbtrain-mpi does it:
 *   - every rank loads the same DATA and draws the same global batch from the same
 *     random state; rank r trains on windows [r*B/N, (r+1)*B/N) of it, so the
 *     batches do not depend on N (a run can resume with another number of ranks);
 *   - after the backward pass the gradients are averaged over the ranks
 *     (summed on rank 0 and broadcast, then / N: each rank's loss is a mean over as
 *     many bytes), and
 *     every rank takes the same AdamW step, so the weights stay identical;
 *   - rank 0 alone evaluates, prints and writes checkpoints; at every checkpoint
 *     and at the end the ranks compare a hash of their weights (a rank that
 *     drifted stops the run rather than be saved).
 * Floats are training only: none of this reaches the integer engine. */
#include "config.h"
#include "dist.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef MBTRAIN_MPI
#include <mpi.h>

static int g_rank, g_size = 1;

int mt_dist_init(int *argc, char ***argv)
{
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        fprintf(stderr, "mbtrain: MPI_Init failed\n");
        return 1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    return 0;
}

void mt_dist_finish(int rc)
{
    fflush(NULL);
    if (rc && g_size > 1)
        MPI_Abort(MPI_COMM_WORLD, rc); /* the other ranks may wait in a collective */
    MPI_Finalize();
}

void mt_dist_mean(mt_real *buf, size_t n)
{
    if (g_size == 1)
        return;
    MPI_Datatype t = sizeof(mt_real) == sizeof(double) ? MPI_DOUBLE : MPI_FLOAT;
    /* Reduce to rank 0, then broadcast, rather than MPI_Allreduce: with more than
     * two ranks an all-reduce may sum in a different order on different ranks, and
     * the weights must stay bit-identical. MPI counts are int: big buffers go in
     * pieces. */
    for (size_t done = 0; done < n;) {
        size_t k = n - done > (1u << 30) ? (1u << 30) : n - done;
        MPI_Reduce(g_rank == 0 ? MPI_IN_PLACE : buf + done, buf + done, (int)k, t, MPI_SUM, 0, MPI_COMM_WORLD);
        MPI_Bcast(buf + done, (int)k, t, 0, MPI_COMM_WORLD);
        done += k;
    }
    mt_real inv = (mt_real)1 / (mt_real)g_size;
    for (size_t i = 0; i < n; i++)
        buf[i] *= inv;
}

double mt_dist_mean1(double x)
{
    if (g_size > 1) {
        MPI_Allreduce(MPI_IN_PLACE, &x, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        x /= g_size;
    }
    return x;
}

int mt_dist_agree(uint64_t h)
{
    if (g_size == 1)
        return 1;
    unsigned long long mine = h, lo = h, hi = h;
    MPI_Allreduce(&mine, &lo, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&mine, &hi, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
    return lo == hi;
}

int mt_dist_bcast_int(int v)
{
    if (g_size > 1)
        MPI_Bcast(&v, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return v;
}

int mt_dist_rank(void) { return g_rank; }
int mt_dist_size(void) { return g_size; }
int mt_dist_is_mpi(void) { return 1; }

#else /* one rank */

int mt_dist_init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

void mt_dist_finish(int rc) { (void)rc; }
void mt_dist_mean(mt_real *buf, size_t n) { (void)buf; (void)n; }
double mt_dist_mean1(double x) { return x; }
int mt_dist_agree(uint64_t h) { (void)h; return 1; }
int mt_dist_bcast_int(int v) { return v; }
int mt_dist_rank(void) { return 0; }
int mt_dist_size(void) { return 1; }
int mt_dist_is_mpi(void) { return 0; }

#endif
